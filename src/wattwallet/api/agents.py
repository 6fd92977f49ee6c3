"""Retail outlets and kiosks: cash recharges with an API key (X-API-Key), in the agent's own
reference space and within its daily limit."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import AwareDatetime, BaseModel, Field

from wattwallet.api import deps, fields, receipts
from wattwallet.wallet import agents


class _KeyBeforeBody(APIRoute):
    """A request whose body is invalid is still refused 401 first when its key is bad, as if the key
    were checked by a dependency (the recharge looks its key up inside its own transaction)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handle(request)
            except RequestValidationError:
                key = request.headers.get("X-API-Key")  # the header deps.AgentKeyDep reads
                await run_in_threadpool(agents.authenticate, (await deps.runtime(request)).ctx, key)
                raise

        return route


router = APIRouter(prefix="/agent", tags=["agents"], route_class=_KeyBeforeBody)


def current_agent(rt: deps.RuntimeDep, key: deps.AgentKeyDep) -> agents.Agent:
    return agents.authenticate(rt.ctx, key)


AgentDep = Annotated[agents.Agent, Depends(current_agent)]


class AgentRecharge(BaseModel):
    service_no: Annotated[str, Field(min_length=1, max_length=32, examples=["1122334455667"])]
    amount_paise: fields.Paise
    reference: Annotated[
        str,
        Field(
            min_length=1,
            max_length=256,
            examples=["SLIP-000123"],
            description=f"Your own unique reference: 1 to {agents.REFERENCE_MAX} letters, digits or "
            ". _ : / - (starting with a letter or digit). The same reference again is the same recharge.",
        ),
    ]
    paid_at: AwareDatetime | None = Field(None, description="When the cash was taken (default: now)")


@router.post(
    "/recharges",
    status_code=status.HTTP_201_CREATED,
    summary="Take a cash recharge",
    responses={
        200: {"model": receipts.Receipt, "description": "A repeat of an earlier request: the receipt"}
    },
)
async def agent_recharge(
    body: AgentRecharge, rt: deps.RuntimeDep, key: deps.AgentKeyDep, response: Response
) -> receipts.Receipt:
    """201 with the receipt of a new recharge; 200 with the first receipt when the reference was used
    before for the same connection and amount (409 for another one); 422 with the rule's code when a
    recharge rule or the agent's daily limit refuses it."""
    asked = agents.KeyedRecharge(key, body.service_no, body.amount_paise, body.reference, body.paid_at)
    # Posted with whatever other agents' recharges are waiting, in one transaction.
    found = await asyncio.wrap_future(rt.recharge_queue.submit(asked, now=rt.now()))
    if found.replayed:
        response.status_code = status.HTTP_200_OK
    return receipts.Receipt.of(found)


@router.get("/recharges/{reference:path}", summary="A receipt again, by your reference")
def agent_receipt(reference: str, rt: deps.RuntimeDep, agent: AgentDep) -> receipts.Receipt:
    return receipts.Receipt.of(agents.receipt(rt.ctx, agent=agent, reference=reference))
