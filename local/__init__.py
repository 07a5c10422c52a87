"""The local API: serves template.yaml's routes through the real authorizer and handlers on an
embedded DynamoDB/SSM (moto). Never deployed; not part of the layer."""
