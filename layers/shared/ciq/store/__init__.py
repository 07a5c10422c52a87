"""DynamoDB only: keys, stored-record models, the codec and the repositories. The only package that
touches boto3; it never decides a business rule."""
