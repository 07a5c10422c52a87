"""REQUEST authorizer: a session token (Bearer header, else the `__Host-ciq_session` cookie) becomes an
allow policy for the whole API with the context {userId, sessionId}.

A token that cannot open a live session raises `Exception("Unauthorized")`, which API Gateway turns
into its 401 (GatewayResponse UNAUTHORIZED). Any other failure (SSM or DynamoDB down) is left to
raise as itself, which API Gateway answers with AUTHORIZER_FAILURE: an outage is never an allow and
never looks like a bad token. There is no authorizer cache (template: ReauthorizeEvery 0), so a
sign-out is refused on the very next request."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerResponse,
    parse_api_gateway_arn,
)

from ciq import budget
from ciq.auth.cookies import request_token
from ciq.errors import Unauthorized
from ciq.metrics import Event, flushed, record
from ciq.services import auth
from ciq.store.adapters import DynamoAuthStore

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
store = DynamoAuthStore()  # the sessions' port (ciq.ports.AuthStore), once per sandbox


# log_event stays off whatever POWERTOOLS_LOGGER_LOG_EVENT says: the event holds the token.
# Every refusal raises, so Lambda counts it in the function's Errors metric; the EMF metrics
# SessionRefused and AuthorizerFailure tell a refused token from an outage (the failure alarm).
@flushed
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        token = request_token(event.get("headers"), event.get("multiValueHeaders"))
        with budget.started(context):  # the session lookup ends inside the function's time
            session = auth.authenticate(store, token)
    except Unauthorized as denied:
        logger.info("session refused", extra={"reason": denied.message})
        record(Event.SESSION_REFUSED)
        raise Exception("Unauthorized") from None  # the exact text API Gateway answers 401 to
    except Exception:
        record(Event.AUTHORIZER_FAILURE)
        raise
    return _allow_whole_api(event["methodArn"], session.user_id, session.session_id)


def _allow_whole_api(method_arn: str, user_id: str, session_id: str) -> dict[str, Any]:
    """One policy for every route of the stage (`.../<apiId>/<stage>/*/*`), so a policy that API
    Gateway might reuse never refuses another route of the same session."""
    arn = parse_api_gateway_arn(method_arn)
    policy = APIGatewayAuthorizerResponse(
        principal_id=user_id,
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
        context={"userId": user_id, "sessionId": session_id},
        partition=arn.partition,
    )
    policy.allow_all_routes()
    return policy.asdict()
