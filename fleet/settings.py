"""Platform settings: one pydantic-settings object, environment prefix ``FLEET_``.

Embedded defaults let one command run everything on a fresh machine: a SQLite file in the
data folder and an MQTT broker the platform starts itself. In production mode the platform
refuses to start without a real secret key.
"""

from __future__ import annotations

import secrets
from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from fleet.password_policy import MIN_SECRET_KEY_BITS, secret_key_bits

#: Secret values that must never be accepted in production mode.
KNOWN_WEAK_SECRETS = frozenset({"", "changeme", "change-me", "secret", "dev", "development"})
MIN_SECRET_LENGTH = 32


class SettingsError(RuntimeError):
    """The settings cannot be used (for example, no secret key in production mode)."""


class RuleThresholdSettings(BaseModel):
    """The thresholds of the motion split and the compliance rules: one settings group, read by
    ``telematics.rules.context.Thresholds`` field by field (``FLEET_<NAME>`` like every setting)."""

    stop_radius_m: float = Field(
        200, gt=0, le=5000, description="Motion: the fixes of a stop stay within this distance of one another, m."
    )
    stop_min_duration_s: float = Field(
        180, gt=0, le=86400, description="Motion: least dwell (or ignition-off) time that makes a stop, seconds."
    )
    order_grace_before_min: float = Field(
        30, ge=0, le=720, description="Rules: a trip this long before an order's planned pickup is still covered, minutes."
    )
    order_grace_after_min: float = Field(
        30, ge=0, le=720, description="Rules: a trip this long after an order's planned drop-off is still covered, minutes."
    )
    order_match_radius_m: float = Field(
        500, gt=0, le=5000,
        description="Rules: a car this close to an order's pickup (and later its destination) is serving it, metres.",
    )
    order_overrun_max_min: float = Field(
        120, ge=0, le=720,
        description="Rules: an order served late covers the ride until the car reaches the destination, "
                    "at most this long after the planned drop-off; and an empty drive to its pickup from the "
                    "site, or back to the site after it, of at most this long is covered, minutes.",
    )
    private_use_min_s: float = Field(
        120, ge=0, description="Rules: least uncovered movement that counts as private use (no order, off hours), seconds."
    )
    work_start: time = Field(time(8, 0), description="Rules: start of working time on a working day, local `HH:MM`.")
    work_end: time = Field(time(18, 0), description="Rules: end of working time on a working day, local `HH:MM`.")
    out_of_area_min_s: float = Field(
        120, ge=0, description="Rules: least time outside the allowed area that raises an alert, seconds."
    )
    route_corridor_m: float = Field(
        2000, gt=0, description="Rules: half-width of the corridor around a request's route, m."
    )
    route_deviation_min_s: float = Field(
        600, ge=0, description="Rules: least time outside the route corridor that raises an alert, seconds."
    )
    route_excess_share: float = Field(
        0.3, ge=0, description="Rules: driven distance above planned by more than this share raises an alert (0.3 = 30 %)."
    )
    route_excess_min_m: float = Field(
        2000, ge=0, description="Rules: least excess of driven over planned distance that raises an alert, m "
        "(a short ride around a closed street is not a detour)."
    )
    route_detour_factor: float = Field(
        1.3, ge=1, le=5, description="Rules: planned road distance over straight-line distance of a request."
    )
    night_start: time = Field(time(22, 0), description="Rules: start of the night for overnight parking, local `HH:MM`.")
    night_end: time = Field(time(6, 0), description="Rules: end of the night for overnight parking, local `HH:MM`.")
    overnight_min_h: float = Field(
        4, gt=0, le=24, description="Rules: least overlap of a stop with the night that counts as overnight, hours."
    )
    site_tolerance_m: float = Field(
        50, ge=0, le=2000, description="Rules: a stop this close to the designated parking site counts as at the site, m."
    )
    forbidden_stop_min_s: float = Field(
        600, gt=0, description="Rules: least stop inside a forbidden venue zone that raises an alert, seconds."
    )
    offline_after_min: float = Field(
        30, gt=0, description="Rules: silence longer than this while not parked at the site raises device.offline, minutes."
    )
    speed_limit_kmh: float = Field(
        120, gt=0, le=300, description="Rules: speed limit where no speed zone applies, km/h."
    )
    speeding_min_s: float = Field(
        30, ge=0, description="Rules: least time above the limit that raises a speeding alert, seconds."
    )


class Settings(BaseSettings, RuleThresholdSettings):
    """Every ``FLEET_*`` variable the platform reads. See the configuration table in README."""

    model_config = SettingsConfigDict(env_prefix="FLEET_", env_file=".env", extra="ignore")

    env: Literal["development", "production"] = Field(
        "development", description="`production` refuses a missing or weak secret key."
    )
    data_dir: Path = Field(Path("data"), description="Folder for the SQLite file and local state.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default a SQLite file `fleet.db` in the data folder."
    )
    mqtt_url: str | None = Field(
        None,
        description="External broker, e.g. `mqtt://127.0.0.1:1883`; empty starts an embedded broker.",
    )
    embedded_mqtt_port: int = Field(
        1884, ge=1, le=65535, description="Port of the embedded broker on 127.0.0.1."
    )
    mqtt_share_group: str = Field(
        "", description="Shared-subscription group for ingest workers; empty where unsupported."
    )
    mqtt_service_credentials: dict[str, str] = Field(
        default_factory=dict,
        description="Per-service broker logins, JSON object of service -> `username:password` "
        "(services: web, ingest, evaluator, dispatch, simulation); a service not listed uses the URL's login.",
    )
    ingest_shutdown_s: float = Field(
        10, gt=0, le=300,
        description="Longest time `fleet ingest` takes after SIGTERM to store and acknowledge what it "
        "received, stop its children and exit, seconds.",
    )
    secret_key: str | None = Field(
        None,
        description="Signs tokens and cookies; at least 32 characters. Development mode "
        "generates one into the data folder when unset.",
    )
    token_ttl_minutes: int = Field(
        12 * 60, gt=0, description="Lifetime of bearer tokens and session cookies, minutes."
    )
    login_user_failures_max: int = Field(
        5, ge=1, description="Failed logins of one username (known or not) within the failure window "
        "before it is locked out."
    )
    login_address_failures_max: int = Field(
        20, ge=1, description="Failed logins from one client address within the failure window "
        "before it is locked out."
    )
    login_failure_window_s: float = Field(
        900, gt=0, description="Failed logins further apart than this start the count again, seconds."
    )
    login_lockout_s: float = Field(
        60, gt=0, description="First lockout after too many failed logins; it doubles with each "
        "further failure, seconds."
    )
    login_lockout_max_s: float = Field(
        3600, gt=0, description="Longest lockout after failed logins, seconds."
    )
    audit_checkpoint_key: str | None = Field(
        None,
        description="Signs the audit chain's checkpoint files (HMAC-SHA256); at least 32 characters. "
        "Development mode generates one into the data folder when unset; production requires it.",
    )
    audit_checkpoint_every_entries: int = Field(
        100, ge=1, le=1_000_000,
        description="A signed checkpoint of the audit chain is written after this many new entries.",
    )
    audit_checkpoint_interval_s: float = Field(
        3600, gt=0,
        description="A checkpoint is also written at the first audit entry once this long has passed "
        "since the last one, seconds.",
    )
    display_timezone: str = Field(
        "Asia/Shanghai", description="Time zone for display; storage is always UTC."
    )
    host: str = Field("127.0.0.1", description="Address `fleet serve` binds.")
    port: int = Field(8000, ge=1, le=65535, description="Port `fleet serve` binds.")
    log_level: str = Field("INFO", description="Log level: DEBUG, INFO, WARNING, ERROR.")
    log_json: bool = Field(False, description="Log one JSON object per line instead of text.")
    request_body_max_bytes: int = Field(
        4 * 1024 * 1024, ge=1024,
        description="Largest request body the web server reads; a larger one answers 413, bytes.",
    )
    metrics_token: str = Field(
        "", description="Bearer token that `/metrics` requires; empty: `/metrics` is open in "
        "development mode and answers 403 in production mode.",
    )
    tile_url: str = Field(
        "",
        max_length=500,
        description="Map tile URL template for the web pages, e.g. `https://tiles.example/{z}/{x}/{y}.png`; "
        "empty draws the GeoJSON layers only (no base map).",
    )
    ingest_batch_size: int = Field(
        2000, ge=1, le=100_000, description="Positions per micro-batch written by `fleet ingest`."
    )
    ingest_batch_max_delay_s: float = Field(
        0.2, gt=0, le=60, description="Longest wait before a partial micro-batch is written, seconds."
    )
    ingest_receive_maximum: int = Field(
        4000, ge=2, le=65535,
        description="Unacknowledged QoS 1 messages the broker may send the worker (MQTT 5).",
    )
    ingest_mqtt_protocol: Literal["auto", "5", "3.1.1"] = Field(
        "auto", description="MQTT version of the worker; auto: 3.1.1 on the embedded broker, else 5."
    )
    ingest_client_id: str = Field(
        "fleet-ingest-1", min_length=1, max_length=64,
        description="Fixed MQTT client id: the broker keeps its session across restarts.",
    )
    ingest_session_expiry_s: int = Field(
        7 * 24 * 3600, ge=0, description="How long the broker keeps the worker's session, seconds."
    )
    ingest_metrics_port: int = Field(
        9101, ge=0, le=65535, description="Port of the worker's Prometheus /metrics; 0 turns it off."
    )
    ingest_future_tolerance_s: float = Field(
        300, ge=0, description="A fix dated further in the future than this is refused, seconds."
    )
    ingest_retry_max_s: float = Field(
        30, gt=0, description="Longest back-off between database retries during an outage, seconds."
    )
    ingest_device_cache_s: float = Field(
        60, gt=0, description="How long the device -> vehicle map is kept before a refresh, seconds."
    )
    ingest_positions_interval_s: float = Field(
        1.0, ge=0, description="Least time between two live positions of one vehicle on MQTT, seconds."
    )
    ingest_processes: int = Field(
        1, ge=1, le=32,
        description="Worker processes `fleet ingest` runs; more than one needs FLEET_MQTT_SHARE_GROUP "
        "(a broker with $share) to split the messages between them.",
    )
    ingest_evaluation_interval_s: float = Field(
        2.0, gt=0, le=3600,
        description="How often `fleet ingest` re-evaluates the vehicles with new positions (each at "
        "most once per round), seconds; bounds the delay from a stored point to its alert.",
    )
    gps_jump_speed_kmh: float = Field(
        250, gt=0, description="A fix implying a faster speed from both neighbours is a GPS jump, km/h."
    )
    gps_jitter_radius_m: float = Field(
        30, ge=0, description="A standing car's fixes within this radius snap to where it stopped, m."
    )
    gps_jitter_speed_kmh: float = Field(
        3, ge=0, description="Below this reported speed a fix counts as standing still, km/h."
    )
    gps_jump_confirm_fixes: int = Field(
        3, ge=2, le=20,
        description="Agreeing fixes that confirm a track: a fix far from the car's track is held "
        "until this many agree with it (then an unconfirmed old anchor is marked), or dropped as "
        "a jump when the track goes on without it.",
    )
    dispatch_pool_fixed_cny: float = Field(
        90.0, ge=0, description="Dispatch: cost of taking a pool car out for the day, CNY."
    )
    dispatch_pool_per_hour_cny: float = Field(
        28.0, ge=0, description="Dispatch: pool driver cost per driving hour, CNY."
    )
    dispatch_pool_per_km_cny: dict[str, float] = Field(
        default_factory=lambda: {"petrol": 0.95, "diesel": 0.9, "hev": 0.7, "phev": 0.6,
                                 "bev": 0.35},
        description="Dispatch: pool car running cost per km by energy, CNY (JSON object).",
    )
    dispatch_reassign_penalty_cny: float = Field(
        200.0, ge=0, description="Dispatch: cost of moving a confirmed trip to another car, CNY."
    )
    dispatch_winter_range_factor: float = Field(
        1.0, gt=0, le=1, description="Dispatch: BEV range derating in cold weather (0.7 = 30 % less)."
    )

    @field_validator("display_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except Exception as exc:  # ZoneInfoNotFoundError, ValueError
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @field_validator("dispatch_pool_per_km_cny")
    @classmethod
    def _every_energy_priced(cls, value: dict[str, float]) -> dict[str, float]:
        energies = {"petrol", "diesel", "hev", "phev", "bev"}
        if set(value) != energies:
            raise ValueError(f"needs exactly the energies {sorted(energies)}, got {sorted(value)}")
        if any(v < 0 for v in value.values()):
            raise ValueError("costs per km must not be negative")
        return value

    @model_validator(mode="after")
    def _production_needs_secret(self) -> "Settings":
        if self.env == "production":
            key = self.secret_key or ""
            if key.strip().lower() in KNOWN_WEAK_SECRETS or len(key) < MIN_SECRET_LENGTH:
                raise SettingsError(
                    "FLEET_SECRET_KEY: production mode needs a secret key of at least "
                    f"{MIN_SECRET_LENGTH} characters that is not a default value"
                )
            bits = secret_key_bits(key)
            if bits < MIN_SECRET_KEY_BITS:
                raise SettingsError(
                    f"FLEET_SECRET_KEY: too easy to guess (about {bits:.0f} bits; production needs "
                    f"{MIN_SECRET_KEY_BITS}): use a random key such as "
                    "`python3 -c 'import secrets; print(secrets.token_urlsafe(48))'`"
                )
            if not self.mqtt_url:
                raise SettingsError(
                    "FLEET_MQTT_URL: production mode needs an external MQTT broker URL"
                )
            checkpoint_key = self.audit_checkpoint_key or ""
            if checkpoint_key.strip().lower() in KNOWN_WEAK_SECRETS or len(checkpoint_key) < MIN_SECRET_LENGTH:
                raise SettingsError(
                    "FLEET_AUDIT_CHECKPOINT_KEY: production mode needs a checkpoint signing key of at "
                    f"least {MIN_SECRET_LENGTH} characters that is not a default value"
                )
        return self

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to ``sqlite:///<data_dir>/fleet.db``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'fleet.db').resolve()}"

    @property
    def resolved_mqtt_url(self) -> str:
        """The broker URL: the external one, or the embedded broker's local address."""
        return self.mqtt_url or f"mqtt://127.0.0.1:{self.embedded_mqtt_port}"

    @property
    def uses_embedded_broker(self) -> bool:
        return not self.mqtt_url

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.display_timezone)

    def signing_key(self) -> str:
        """The secret key; in development, one generated once and kept in the data folder."""
        return self.secret_key or self._kept_key("secret_key")

    def audit_checkpoint_signing_key(self) -> str:
        """The audit checkpoint key; in development, one generated once and kept in the data folder."""
        return self.audit_checkpoint_key or self._kept_key("audit_checkpoint_key")

    def _kept_key(self, name: str) -> str:
        """The key kept in the data folder file ``name``, generated on first use."""
        key_file = self.data_dir / name
        if key_file.exists():
            return key_file.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        key_file.write_text(key)
        key_file.chmod(0o600)
        return key


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
