"""The plan: which car serves which trip and when, what it costs, and why.

Times are timezone-aware; ``km`` is road km; money is CNY.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

#: Why a request was left unserved.
REASONS = {
    "no_vehicle_class": "no pool car or tariff has the class, seats and energy it needs",
    "window_infeasible": "no car can reach it within its pickup window and its shift",
    "range": "every car that could reach it in time lacks the range",
    "ride_time": "its ride-time ceiling is shorter than the direct drive",
    "lessor_capacity": "the pool is busy and the lessors' cars of that kind are all taken",
    "pool_busy": "only pool cars could serve it and they are all busy",
}


#: Why a served request got its car (``Reason.code``), with the parameters each carries.
ASSIGNMENT_REASONS = {
    "pool_cheaper": "a pool car adds added_cny; the cheapest lease, lease_option, costs lease_cny",
    "pool_only": "a pool car adds added_cny; no leased car could take it",
    "lease_cheaper": "a leased car adds added_cny; the cheapest pool car, pool_vehicle, pool_cny",
    "lease_needed": "a leased car adds added_cny; no pool car could take it (cause)",
    "urgent_insertion": "put at its cheapest feasible place in a standing plan: adds added_cny",
}


class Reason(BaseModel):
    """Why a request got its car, as data: a code of :data:`ASSIGNMENT_REASONS` and its
    parameters (money CNY; ``shared_with`` request ids; ``moved_from`` the confirmed car)."""

    code: str
    params: dict[str, Any] = Field(default_factory=dict)


class Stop(BaseModel):
    request: str
    type: Literal["pickup", "dropoff"]
    arrival: AwareDatetime
    start: AwareDatetime


class Route(BaseModel):
    vehicle: str = Field(description="Pool car id, or <lessor>:<class>:<n> for a leased car.")
    kind: Literal["pool", "lease"]
    stops: list[Stop]
    km: float
    cost_cny: float


class Unserved(BaseModel):
    request: str
    reason: str


class Plan(BaseModel):
    status: str = Field(
        description="feasible (time-limited search: a good plan, optimality not proven) or "
        "empty (no request could be served)"
    )
    total_cost_cny: float
    solve_s: float
    routes: list[Route] = Field(default_factory=list)
    unserved: list[Unserved] = Field(default_factory=list)
    shared_with: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Request id -> the requests on board with it at some moment (shared rides).",
    )
    explanations: dict[str, str] = Field(default_factory=dict)
    reasons: dict[str, Reason] = Field(
        default_factory=dict, description="Request id -> why it got its car, as a code and parameters.")
