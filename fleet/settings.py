"""Platform settings: one pydantic-settings object with a group per feature.

``get_settings()`` is the entry point. The core fields (mode, data folder, database, display
time zone, logging, secret key) read ``FLEET_<FIELD>``; each feature group reads
``FLEET_<GROUP>_<FIELD>`` (``settings.ingest.batch_size`` is ``FLEET_INGEST_BATCH_SIZE``), from
the environment or a ``.env`` file. One unit per kind of quantity: durations in seconds (``_s``),
distances in metres (``_m``), speeds in km/h (``_kmh``), money in CNY (``_cny``), times of day as
local ``HH:MM``.

Embedded defaults let one command run everything on a fresh machine: a SQLite file in the
data folder and an MQTT broker the platform starts itself. In production mode the platform
refuses to start without a real secret key.
"""

from __future__ import annotations

import secrets
from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, SettingsConfigDict

from fleet.password_policy import MIN_SECRET_KEY_BITS, secret_key_bits

#: Secret values that must never be accepted in production mode.
KNOWN_WEAK_SECRETS = frozenset({"", "changeme", "change-me", "secret", "dev", "development"})
MIN_SECRET_LENGTH = 32
#: The file of ``KEY=value`` lines every settings group reads besides the environment.
ENV_FILE = ".env"


class SettingsError(RuntimeError):
    """The settings cannot be used (for example, no secret key in production mode)."""


def _group_config(group: str) -> SettingsConfigDict:
    """The configuration of the settings group ``group``: variables ``FLEET_<GROUP>_<FIELD>``."""
    return SettingsConfigDict(env_prefix=f"FLEET_{group.upper()}_", env_file=ENV_FILE, extra="ignore")


class MotionThresholds(BaseModel):
    """The thresholds of the split of a track into stops and trips."""

    stop_radius_m: float = Field(
        200, gt=0, le=5000, description="The fixes of a stop stay within this distance of one another, metres."
    )
    stop_min_duration_s: float = Field(
        180, gt=0, le=86400, description="Least dwell (or ignition-off) time that makes a stop, seconds."
    )


class RuleThresholds(BaseModel):
    """The thresholds of the compliance rules."""

    order_grace_before_s: float = Field(
        1800, ge=0, le=43200,
        description="A trip this long before an order's planned pickup is still covered, seconds.",
    )
    order_grace_after_s: float = Field(
        1800, ge=0, le=43200,
        description="A trip this long after an order's planned drop-off is still covered, seconds.",
    )
    order_match_radius_m: float = Field(
        500, gt=0, le=5000,
        description="A car this close to an order's pickup is serving it; the ride then runs until the car "
        "is this close to the destination (back at the pickup for a wait-and-return trip), so a late-running "
        "official trip is not private use, metres.",
    )
    order_overrun_max_s: float = Field(
        7200, ge=0, le=43200,
        description="How far past the planned drop-off a late-served order can still cover the ride; also "
        "the longest empty drive from the site (or another order's destination) to its pickup, and back to "
        "the site after it, that the order covers (a county trip's legs), seconds.",
    )
    private_use_min_s: float = Field(
        120, ge=0, description="Least movement not covered by an order (or outside working time) that raises an "
        "alert, seconds."
    )
    work_start: time = Field(time(8, 0), description="Start of working time on a working day, `HH:MM` in the display time zone.")
    work_end: time = Field(time(18, 0), description="End of working time on a working day, `HH:MM` in the display time zone.")
    out_of_area_min_s: float = Field(
        120, ge=0, description="Least time outside the allowed area that raises `private_use.out_of_area`, seconds."
    )
    route_corridor_m: float = Field(
        2000, gt=0, description="Half-width of the corridor around a request's route, metres."
    )
    route_deviation_min_s: float = Field(
        600, ge=0, description="Least time outside the corridor that raises `private_use.route_deviation`, seconds."
    )
    route_excess_share: float = Field(
        0.3, ge=0, description="Driving more than this share above the planned distance raises "
        "`private_use.route_deviation` (the distance driven from the observed pickup to the arrival, leaving "
        "out the jitter of fixes while the car stands), a ratio: 0.3 = 30 %."
    )
    route_excess_min_m: float = Field(
        2000, ge=0, description="The excess over the planned distance must also reach this much (a short ride around "
        "a closed street is no detour), metres."
    )
    route_detour_factor: float = Field(
        1.3, ge=1, le=5, description="Planned road distance over straight-line distance of a request (a ratio)."
    )
    night_start: time = Field(time(22, 0), description="Start of the night for `parking.off_site_overnight`, `HH:MM` in the display time zone.")
    night_end: time = Field(time(6, 0), description="End of the night, `HH:MM` in the display time zone.")
    overnight_min_s: float = Field(
        14400, gt=0, le=86400, description="Least overlap of a stop with the night that counts as overnight, seconds."
    )
    site_tolerance_m: float = Field(
        50, ge=0, le=2000, description="A stop this close to the designated parking site counts as parked at the site, metres."
    )
    forbidden_stop_min_s: float = Field(
        600, gt=0, description="Least stop inside a forbidden venue zone that raises `parking.forbidden_zone`, seconds."
    )
    offline_after_s: float = Field(
        1800, gt=0, description="Silence longer than this while not parked at the site raises `device.offline`, seconds."
    )
    speed_limit_kmh: float = Field(
        120, gt=0, le=300, description="Speed limit where no speed zone applies, km/h."
    )
    speeding_min_s: float = Field(
        30, ge=0, description="Least time above the limit that raises `speeding`, seconds."
    )


class MqttSettings(BaseSettings):
    """The MQTT broker and the platform's logins on it."""

    model_config = _group_config("mqtt")

    url: str | None = Field(
        None,
        description="External broker, `mqtt://[user:pass@]host[:port]` or `mqtts://...`; empty starts an "
        "embedded broker.",
    )
    embedded_port: int = Field(
        1884, ge=1, le=65535, description="Port of the embedded broker on 127.0.0.1 (a TCP port number)."
    )
    protocol: Literal["auto", "5", "3.1.1"] = Field(
        "auto", description="MQTT version of every platform client (`auto`, `5` or `3.1.1`); auto: 3.1.1 on "
        "the embedded broker, else 5."
    )
    share_group: str = Field(
        "", description="Shared-subscription group (`$share/<group>/...`) for several ingest workers (a name); "
        "leave empty on brokers without it (the embedded one)."
    )
    service_credentials: dict[str, str] = Field(
        default_factory=dict,
        description="Per-service broker logins, a JSON object of service -> `\"username:password\"` "
        "(`web`, `ingest`, `evaluator`, `dispatch`, `simulation`), so that the broker can allow each only its "
        "own topics; a service not listed uses the login in FLEET_MQTT_URL. Every message the platform "
        "publishes over MQTT 5 is signed (HMAC-SHA256, key derived from FLEET_SECRET_KEY, user property "
        "`fleet-sig`), and the live hub drops unsigned events.",
    )


class WebSettings(BaseSettings):
    """The web server: address, pages, tokens and request limits."""

    model_config = _group_config("web")

    host: str = Field("127.0.0.1", description="Address `fleet serve` binds (an IP address or host name).")
    port: int = Field(8000, ge=1, le=65535, description="Port `fleet serve` binds (a TCP port number).")
    tile_url: str = Field(
        "",
        max_length=500,
        description="Map tile URL template for the web pages, e.g. a self-hosted tile server "
        "`https://tiles.internal/{z}/{x}/{y}.png` or Tianditu; empty shows the GeoJSON layers (depots, parking "
        "sites, zones) without a base map, which needs no internet access.",
    )
    token_ttl_s: int = Field(
        12 * 3600, gt=0, description="Lifetime of bearer tokens and session cookies, seconds."
    )
    body_max_bytes: int = Field(
        4 * 1024 * 1024, ge=1024,
        description="Largest request body the web server reads (4 MiB); a larger one answers 413, bytes.",
    )
    metrics_token: str = Field(
        "", description="Bearer token that `/metrics` requires (`Authorization: Bearer …`); empty leaves "
        "`/metrics` open in development mode and refuses it (403) in production mode.",
    )


class LoginSettings(BaseSettings):
    """The throttle of failed logins."""

    model_config = _group_config("login")

    user_failures_max: int = Field(
        5, ge=1, description="Failed logins of one username (known or not) within the failure window "
        "before it is locked out (API: 429 with `Retry-After`), a count."
    )
    address_failures_max: int = Field(
        20, ge=1, description="Failed logins from one client address within the failure window "
        "before it is locked out (a count)."
    )
    failure_window_s: float = Field(
        900, gt=0, description="Failed logins further apart than this start the count again, seconds."
    )
    lockout_s: float = Field(
        60, gt=0, description="First lockout after too many failed logins; it doubles with each "
        "further failure, seconds."
    )
    lockout_max_s: float = Field(
        3600, gt=0, description="Longest lockout after failed logins, seconds."
    )


class AuditSettings(BaseSettings):
    """The signed checkpoints of the audit chain."""

    model_config = _group_config("audit")

    checkpoint_key: str | None = Field(
        None,
        description="Signs the audit chain's checkpoint files (HMAC-SHA256); at least 32 characters. "
        "Development mode generates one into the data folder when unset; production requires it.",
    )
    checkpoint_every_entries: int = Field(
        100, ge=1, le=1_000_000,
        description="A signed checkpoint of the audit chain (`data/audit-checkpoint.json`) is written after "
        "this many new entries, a count.",
    )
    checkpoint_interval_s: float = Field(
        3600, gt=0,
        description="A checkpoint is also written at the first audit entry once this long has passed "
        "since the last one, seconds.",
    )


class IngestSettings(BaseSettings):
    """The ingest worker `fleet ingest`: MQTT session, micro-batches, evaluation rounds."""

    model_config = _group_config("ingest")

    batch_size: int = Field(
        2000, ge=1, le=100_000, description="Positions per micro-batch that `fleet ingest` writes in one transaction, a count."
    )
    batch_max_delay_s: float = Field(
        0.2, gt=0, le=60, description="Longest wait before a partial micro-batch is written, seconds."
    )
    receive_maximum: int = Field(
        4000, ge=2, le=65535,
        description="Unacknowledged QoS 1 messages the broker may send the worker (MQTT 5 receive maximum; "
        "with MQTT 3.1.1 the broker's `max_inflight_messages` decides), a count.",
    )
    client_id: str = Field(
        "fleet-ingest-1", min_length=1, max_length=64,
        description="Fixed MQTT client id of the worker (a name), so the broker keeps its session (and queued "
        "messages) across restarts; give each worker its own.",
    )
    session_expiry_s: int = Field(
        7 * 24 * 3600, ge=0, description="How long the broker keeps the worker's session while it is away (MQTT 5), seconds."
    )
    metrics_port: int = Field(
        9101, ge=0, le=65535,
        description="Port of the worker's own Prometheus `/metrics` (a TCP port number); `0` turns it off.",
    )
    future_tolerance_s: float = Field(
        300, ge=0, description="A fix dated further in the future than this is refused, seconds."
    )
    retry_max_s: float = Field(
        30, gt=0, description="Longest back-off between database retries during an outage, seconds."
    )
    device_cache_s: float = Field(
        60, gt=0, description="How long the device -> vehicle map is kept before a refresh (an unknown device "
        "triggers an early refresh), seconds."
    )
    positions_interval_s: float = Field(
        1.0, ge=0, description="Least time between two live positions of one vehicle on "
        "`fleet/v1/events/positions`, seconds."
    )
    processes: int = Field(
        1, ge=1, le=32,
        description="Worker processes `fleet ingest` runs, each with its own MQTT session "
        "(`FLEET_INGEST_CLIENT_ID-<n>` beside the first) and metrics port (FLEET_INGEST_METRICS_PORT + n); "
        "more than one needs FLEET_MQTT_SHARE_GROUP so that the broker splits the messages between them, "
        "a count.",
    )
    evaluation_interval_s: float = Field(
        2.0, gt=0, le=3600,
        description="How often `fleet ingest` re-evaluates trips, stops and alerts of the vehicles with "
        "new positions (each vehicle once per round, however many messages it sent); an alert is published "
        "at most this plus one round after its point was stored, seconds.",
    )
    shutdown_s: float = Field(
        10, gt=0, le=300,
        description="After SIGTERM or Ctrl-C, `fleet ingest` stops receiving, stores and acknowledges "
        "what it received, stops its children and exits within this time; anything unacknowledged is "
        "delivered again on the next start, seconds.",
    )


class GpsSettings(BaseSettings):
    """The cleaning of GPS fixes: jumps and standing jitter."""

    model_config = _group_config("gps")

    jump_speed_kmh: float = Field(
        250, gt=0, description="A fix implying a faster speed from both neighbours is a GPS jump and is dropped, km/h."
    )
    jitter_radius_m: float = Field(
        30, ge=0, description="Fixes of a standing car within this radius of where it stopped are snapped to that "
        "place, metres."
    )
    jitter_speed_kmh: float = Field(
        3, ge=0, description="Below this reported speed a fix counts as standing still, km/h."
    )
    jump_confirm_fixes: int = Field(
        3, ge=2, le=20,
        description="Agreeing fixes that confirm a track: a fix faster than FLEET_GPS_JUMP_SPEED_KMH from "
        "the car's track is held (not stored) until this many fixes agree with it, and then stored while an "
        "unconfirmed stored fix it broke from is marked and moved to `position_suspect`; it is dropped as a "
        "jump when the track goes on without it. Dropped fixes go to `fleet/v1/ingest/rejected` and are "
        "counted per terminal (`device_state.dropped_fixes`), a count.",
    )


class MotionSettings(BaseSettings, MotionThresholds):
    """The split of a track into stops and trips."""

    model_config = _group_config("motion")


class RulesSettings(BaseSettings, RuleThresholds):
    """The compliance rules' thresholds."""

    model_config = _group_config("rules")


class TripSettings(BaseSettings):
    """The trip workflow: when a pickup may be asked for and when a driver may start."""

    model_config = _group_config("trips")

    pickup_grace_s: float = Field(
        300, ge=0, le=86400,
        description="A requester may ask for a pickup this long in the past (the minutes it takes to fill in "
        "the form); an earlier one is refused, seconds.",
    )
    start_lead_s: float = Field(
        7200, ge=0, le=86400,
        description="A driver may start a trip from this long before its planned pickup; an earlier start is "
        "refused, seconds.",
    )


class DispatchSettings(BaseSettings):
    """The costs and the shared-ride rules the dispatch solver weighs."""

    model_config = _group_config("dispatch")

    pool_fixed_cny: float = Field(
        90.0, ge=0, description="Cost of taking a pool car out for the day, CNY."
    )
    pool_per_hour_cny: float = Field(
        28.0, ge=0, description="Pool driver cost per driving hour, CNY."
    )
    pool_per_km_cny: dict[str, float] = Field(
        default_factory=lambda: {"petrol": 0.95, "diesel": 0.9, "hev": 0.7, "phev": 0.6,
                                 "bev": 0.35},
        description="Pool car running cost per km by energy (a JSON object naming every energy), CNY.",
    )
    reassign_penalty_cny: float = Field(
        200.0, ge=0, description="Cost of moving a confirmed trip to another car when re-planning, CNY."
    )
    winter_range_factor: float = Field(
        1.0, gt=0, le=1, description="BEV range derating in cold weather, a ratio: 0.7 = 30 % less."
    )
    sharing: bool = Field(True, description="Passengers of different requests may share a car.")
    max_ride_factor: float = Field(
        1.5, ge=1, le=10,
        description="A shared ride may last this many times the direct ride (plus max_ride_extra_s), a ratio.",
    )
    max_ride_extra_s: float = Field(
        900, ge=0, le=86400,
        description="A shared ride may last this long beyond max_ride_factor x the direct ride, seconds.",
    )

    @field_validator("pool_per_km_cny")
    @classmethod
    def _every_energy_priced(cls, value: dict[str, float]) -> dict[str, float]:
        energies = {"petrol", "diesel", "hev", "phev", "bev"}
        if set(value) != energies:
            raise ValueError(f"needs exactly the energies {sorted(energies)}, got {sorted(value)}")
        if any(v < 0 for v in value.values()):
            raise ValueError("costs per km must not be negative")
        return value


class LeaseSettings(BaseSettings):
    """The hire windows of leased cars: how far a leased trip's window reaches beyond the trip."""

    model_config = _group_config("lease")

    hire_lead_s: float = Field(
        3600, ge=0, le=86400,
        description="A confirmed leased trip hires its car from this long before the planned pickup (the "
        "lessor brings the car), when its lessor sets no lead of its own, seconds.",
    )
    hire_return_s: float = Field(
        3600, ge=0, le=86400,
        description="A confirmed leased trip hires its car until this long after the planned drop-off (the "
        "car goes back to the lessor), when its lessor sets no return time of its own, seconds.",
    )


class Settings(BaseSettings):
    """Every ``FLEET_*`` variable the platform reads: the core fields, then a group per feature.
    See the configuration table in README (``fleet settings table`` prints it)."""

    model_config = SettingsConfigDict(env_prefix="FLEET_", env_file=ENV_FILE, extra="ignore")

    env: Literal["development", "production"] = Field(
        "development", description="Mode, `development` or `production`; production refuses to start without "
        "a strong FLEET_SECRET_KEY, a FLEET_AUDIT_CHECKPOINT_KEY and an external broker."
    )
    data_dir: Path = Field(Path("data"), description="Folder for the SQLite file and local state (a path).")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL, e.g. `postgresql+psycopg://fleet@db:5432/fleet`; "
        "empty: a SQLite file `fleet.db` in the data folder."
    )
    secret_key: str | None = Field(
        None,
        description="Signs tokens, session cookies and (through a derived key) MQTT messages; at least 32 "
        "characters, and in production random enough (about 80 bits by zxcvbn's estimate). Development "
        "mode generates one into the data folder when unset.",
    )
    display_timezone: str = Field(
        "Asia/Shanghai", description="Time zone for display (an IANA name); storage is always UTC."
    )
    log_level: str = Field("INFO", description="Log level: DEBUG, INFO, WARNING or ERROR.")
    log_json: bool = Field(False, description="Log one JSON object per line instead of text (true or false).")

    mqtt: MqttSettings = Field(default_factory=MqttSettings, description="The MQTT broker.")
    web: WebSettings = Field(default_factory=WebSettings, description="The web server.")
    login: LoginSettings = Field(default_factory=LoginSettings, description="The failed-login throttle.")
    audit: AuditSettings = Field(default_factory=AuditSettings, description="The audit chain's checkpoints.")
    ingest: IngestSettings = Field(default_factory=IngestSettings, description="The ingest worker.")
    gps: GpsSettings = Field(default_factory=GpsSettings, description="The cleaning of GPS fixes.")
    motion: MotionSettings = Field(default_factory=MotionSettings, description="Stops and trips.")
    rules: RulesSettings = Field(default_factory=RulesSettings, description="The compliance rules.")
    trips: TripSettings = Field(default_factory=TripSettings, description="The trip workflow.")
    dispatch: DispatchSettings = Field(default_factory=DispatchSettings, description="The dispatch costs and shared-ride rules.")
    lease: LeaseSettings = Field(default_factory=LeaseSettings, description="The hire windows of leased cars.")

    @field_validator("display_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except Exception as exc:  # ZoneInfoNotFoundError, ValueError
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _production_needs_secret(self) -> Settings:
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
            if not self.mqtt.url:
                raise SettingsError(
                    "FLEET_MQTT_URL: production mode needs an external MQTT broker URL"
                )
            checkpoint_key = self.audit.checkpoint_key or ""
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
        return self.mqtt.url or f"mqtt://127.0.0.1:{self.mqtt.embedded_port}"

    @property
    def uses_embedded_broker(self) -> bool:
        return not self.mqtt.url

    @property
    def mqtt_v5(self) -> bool:
        """Whether the platform's clients speak MQTT 5 (FLEET_MQTT_PROTOCOL)."""
        return self.mqtt.protocol == "5" or (self.mqtt.protocol == "auto" and not self.uses_embedded_broker)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.display_timezone)

    def signing_key(self) -> str:
        """The secret key; in development, one generated once and kept in the data folder."""
        return self.secret_key or self._kept_key("secret_key")

    def audit_checkpoint_signing_key(self) -> str:
        """The audit checkpoint key; in development, one generated once and kept in the data folder."""
        return self.audit.checkpoint_key or self._kept_key("audit_checkpoint_key")

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


def _is_group(field: FieldInfo) -> bool:
    """Whether the ``Settings`` field ``field`` is a feature group (a nested settings class)."""
    return isinstance(field.annotation, type) and issubclass(field.annotation, BaseSettings)


def env_name(group_class: type[BaseSettings], field: str) -> str:
    """The environment variable of ``field`` in the settings class ``group_class``."""
    return f"{group_class.model_config.get('env_prefix', '')}{field}".upper()


def _default_text(field: FieldInfo) -> str:
    """A field's default as the table shows it: the value as it is written in the environment."""
    value: Any = field.get_default(call_default_factory=True)
    if value is None or value == "":
        return "empty"
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, time):
        text = value.strftime("%H:%M")
    elif isinstance(value, dict):
        text = "{" + ", ".join(f'"{k}": {v}' for k, v in value.items()) + "}"
    else:
        text = str(value)
    return f"`{text}`"


def _table(title: str, cls: type[BaseSettings], names: list[str]) -> str:
    """The Markdown table of the fields ``names`` of ``cls`` under the line ``title``."""
    rows = [title, "", "| Variable | Default | Meaning |", "|---|---|---|"]
    for name in names:
        field = cls.model_fields[name]
        description = (field.description or "").replace("|", "\\|")
        rows.append(f"| `{env_name(cls, name)}` | {_default_text(field)} | {description} |")
    return "\n".join(rows)


def configuration_table() -> str:
    """The README's configuration table in Markdown: the core settings, then one table per
    feature group, each variable with its name, default and description (which states the unit),
    all taken from the field definitions."""
    core = [name for name, field in Settings.model_fields.items() if not _is_group(field)]
    parts = [_table("**Core** (`FLEET_<FIELD>`): mode, storage, display and logging.", Settings, core)]
    for group, field in Settings.model_fields.items():
        if _is_group(field):
            cls = field.annotation
            title = f"**{group}** (`{env_name(cls, '<FIELD>')}`): {(cls.__doc__ or '').strip()}"
            parts.append(_table(title, cls, list(cls.model_fields)))
    return "\n\n".join(parts) + "\n"
