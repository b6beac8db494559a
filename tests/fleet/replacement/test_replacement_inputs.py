"""Bad inputs get errors that name the field and the rule."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from replacement_builders import BEV, PETROL, car, plan_input

from fleet.replacement.inputs import describe_errors


def errors_of(build) -> str:
    with pytest.raises(ValidationError) as caught:
        build()
    return "\n".join(describe_errors(caught.value))


def test_negative_budget_names_the_field() -> None:
    text = errors_of(lambda: plan_input([car("a")], budgets=[{"org_id": "org-a", "annual_budget_cny": -1}]))
    assert "policy.budgets.0.annual_budget_cny" in text
    assert "greater than or equal to 0" in text


def test_unknown_class_names_the_field() -> None:
    text = errors_of(lambda: car("a", vehicle_class="limousine"))
    assert "vehicle_class" in text and "sedan" in text


def test_cap_below_every_model_price() -> None:
    text = errors_of(lambda: plan_input([car("a")], price_cap_cny={"sedan": 100_000}))
    assert "policy.price_cap_cny.sedan" in text
    assert "below every sedan model's price" in text and "150,000" in text


def test_a_class_without_any_model() -> None:
    text = errors_of(lambda: plan_input([car("a", vehicle_class="bus", energy="diesel")]))
    assert "models:" in text and "bus" in text


def test_age_must_come_from_exactly_one_field() -> None:
    text = errors_of(lambda: car("a", purchase_date="2015-03-01"))
    assert "purchase_date" in text and "exactly one" in text


def test_purchase_date_gives_the_age() -> None:
    plan = plan_input([car("a", age_years=None, purchase_date="2017-01-01")])
    assert plan.car_age_years(plan.cars[0]) == pytest.approx(10.0, abs=0.01)


def test_more_plug_in_cars_than_chargers() -> None:
    ev = car("ev", energy="bev", emission_standard=None, depot_id="d1")
    text = errors_of(lambda: plan_input([ev], depots=[{"depot_id": "d1", "chargers": 0}]))
    assert "policy.depots[0].chargers" in text


def test_duplicate_ids_and_bad_salvage_curve() -> None:
    assert "repeated: a" in errors_of(lambda: plan_input([car("a"), car("a")]))
    text = errors_of(lambda: plan_input([car("a")], salvage_share_by_age={0: 0.5, 5: 0.7}))
    assert "policy.salvage_share_by_age" in text and "must not rise" in text


def test_bev_with_emission_standard() -> None:
    text = errors_of(lambda: car("a", energy="bev"))
    assert "emission_standard" in text


def test_nev_required_without_a_nev_model() -> None:
    text = errors_of(
        lambda: plan_input([car("a", use_type="pool")], [PETROL], nev_required_use_types=["pool"])
    )
    assert "use type 'pool' must be replaced by a NEV" in text
    assert plan_input([car("a", use_type="pool")], [PETROL, BEV], nev_required_use_types=["pool"])
