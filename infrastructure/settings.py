"""Settings: one Struct read from `LLMCHAT_*` environment variables, validated at start."""

import base64
import binascii
import os
from collections.abc import Mapping

import msgspec

from infrastructure.network import BadNetwork, parse_networks
from infrastructure.signing import BadKey, public_key_of

PREFIX = "LLMCHAT_"
MIN_CAD_MEMORY_MB = 256


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class SettingsError(Exception):
    """A setting is missing or wrong; the message names the variable."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str | None = None
    redis_url: str | None = None
    redis_namespace: str = "llmchat"
    data_dir: str = "./.llmchat"
    jwt_secret: str | None = None
    agents_file: str | None = None
    admin_email: str | None = None
    admin_password: str | None = None
    environment: str = "development"
    db_pool_size: int = 10
    # JSON bodies; uploads have their own limit. 1,000 messages of 10,000 characters
    # can reach ~40 MB as UTF-8, which is more than any one request should carry.
    max_body_bytes: int = 12 * 1024 * 1024
    log_level: str = "INFO"
    # Conversations idle this long expire: dropped from the read models, their text erased.
    retention_days: float = 30.0
    # On shutdown, how long running replies may go on before they are closed as interrupted.
    shutdown_grace_seconds: float = 10.0
    # A reply whose instance stopped beating: "continue" it on a live instance (one claims
    # it) or "interrupt" it, keeping its text.
    takeover: str = "continue"
    # How often an instance says it is alive, and how long a silent one is taken for dead.
    heartbeat_seconds: float = 1.0
    instance_dead_after_seconds: float = 5.0
    # "text" for people, "json" (one object a line) for log shippers.
    log_format: str = "text"
    # Requests a minute (the spec's Limits): per client address when anonymous, per user
    # or API key when authenticated; admins get the enterprise limit.
    rate_limit_anonymous: int = 1000
    rate_limit_user: int = 2000
    rate_limit_enterprise: int = 5000
    # Networks, comma-separated CIDRs; unset = no restriction / no proxy trusted.
    allow_cidrs: str | None = None
    admin_allow_cidrs: str | None = None
    trusted_proxies: str | None = None
    # Browser origins allowed by CORS, comma-separated ("*" for any); unset = no CORS.
    cors_origins: str | None = None
    # Base64 AES key (16, 24 or 32 bytes) that encrypts stored event payloads.
    encryption_key: str | None = None
    # Where uploaded bytes live: "postgres" (every instance sees every file) or "directory"
    # (file_dir, which every instance must then share); unset file_dir = <data_dir>/files.
    file_storage: str = "postgres"
    file_dir: str | None = None
    # An uploaded drawing larger than this is parsed by a job (a worker, with Redis); the
    # request waits for the result at most cad_job_wait_seconds, then answers 202.
    cad_job_bytes: int = 2 * 1024 * 1024
    cad_job_wait_seconds: float = 30.0
    # A just-rotated refresh token presented again this soon gets its rotation's pair (two
    # tabs refreshing at once) instead of revoking the sign-in; 0 turns the grace off.
    refresh_grace_seconds: int = 10
    # Each drawing is read in a child process with this much address space and this much
    # CPU and wall time; over either, it is refused as too complex (422).
    cad_memory_mb: int = 512
    cad_seconds: float = 10.0
    # Prices per million tokens, per provider and model (infrastructure/prices_file.py).
    prices_file: str | None = None
    # How long a provider may take to start answering (its response head) before the
    # reply's fallback is asked, or the reply fails.
    provider_first_byte_seconds: float = 30.0
    # How long a started answer may go without a byte before the attempt counts as broken
    # (and the reply is continued, if it may be).
    provider_idle_seconds: float = 60.0
    # How many times a reply whose provider failed after text was stored is continued
    # (the same agent once, then its fallbacks) before it fails, keeping its text; 0: never.
    max_continuations: int = 3
    # Base64 Ed25519 seed (llmchat keys new-signing-key) signing checkpoints of the seal
    # chain; workers write one every checkpoint_minutes to checkpoint_dir (unset:
    # <data_dir>/checkpoints) and the log. Unset key: no checkpoints are written.
    signing_key: str | None = None
    checkpoint_dir: str | None = None
    checkpoint_minutes: float = 60.0


def env_name(field: str) -> str:
    return PREFIX + field.upper()


def read_settings(environ: Mapping[str, str] | None = None) -> Settings:
    environ = os.environ if environ is None else environ
    raw = {
        field: environ[env_name(field)]
        for field in Settings.__struct_fields__
        if environ.get(env_name(field), "") != ""
    }
    try:
        settings = msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as error:
        raise SettingsError(describe(error)) from None
    check(settings)
    return settings


def describe(error: msgspec.ValidationError) -> str:
    text = str(error)
    field = text.rsplit("$.", 1)[-1] if "$." in text else ""
    return f"{env_name(field)}: {text.split(' - at ')[0]}" if field else text


def check(settings: Settings) -> None:
    url = settings.database_url
    if url is not None and not url.startswith(("postgresql://", "postgres://")):
        raise SettingsError(f"{env_name('database_url')}: expected a postgresql:// URL")
    redis_url = settings.redis_url
    if redis_url is not None and not redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise SettingsError(f"{env_name('redis_url')}: expected a redis:// URL")
    if (settings.admin_email is None) != (settings.admin_password is None):
        raise SettingsError(
            f"{env_name('admin_email')} and {env_name('admin_password')} must be set together"
        )
    if settings.admin_password is not None and len(settings.admin_password) < 8:
        raise SettingsError(f"{env_name('admin_password')}: must be at least 8 characters")
    if settings.jwt_secret is not None and len(settings.jwt_secret) < 32:
        raise SettingsError(f"{env_name('jwt_secret')}: must be at least 32 characters")
    if not 2 <= settings.db_pool_size <= 200:
        raise SettingsError(f"{env_name('db_pool_size')}: must be between 2 and 200")
    if settings.retention_days <= 0:
        raise SettingsError(f"{env_name('retention_days')}: must be more than 0 days")
    if not 0 <= settings.shutdown_grace_seconds <= 3600:
        raise SettingsError(f"{env_name('shutdown_grace_seconds')}: must be 0 to 3600 seconds")
    check_takeover(settings)
    if not 0 <= settings.refresh_grace_seconds <= 300:
        raise SettingsError(f"{env_name('refresh_grace_seconds')}: must be 0 to 300 seconds")
    if not 0 < settings.provider_first_byte_seconds <= 600:
        name = env_name("provider_first_byte_seconds")
        raise SettingsError(f"{name}: must be more than 0 and at most 600 seconds")
    if not 0 < settings.provider_idle_seconds <= 600:
        name = env_name("provider_idle_seconds")
        raise SettingsError(f"{name}: must be more than 0 and at most 600 seconds")
    if not 0 <= settings.max_continuations <= 10:
        raise SettingsError(f"{env_name('max_continuations')}: must be 0 to 10")
    if settings.max_body_bytes < 1024:
        raise SettingsError(f"{env_name('max_body_bytes')}: must be at least 1024")
    check_policies(settings)
    if settings.file_storage not in ("postgres", "directory"):
        raise SettingsError(f"{env_name('file_storage')}: expected postgres or directory")
    for field in ("cad_job_bytes", "cad_job_wait_seconds"):
        if getattr(settings, field) < 0:
            raise SettingsError(f"{env_name(field)}: must not be negative")
    # Below ~256 MiB the child cannot even import ezdxf (it takes ~125 MiB of address space).
    if not MIN_CAD_MEMORY_MB <= settings.cad_memory_mb <= 1024 * 1024:
        raise SettingsError(
            f"{env_name('cad_memory_mb')}: must be between {MIN_CAD_MEMORY_MB} and 1048576"
        )
    if not 0 < settings.cad_seconds <= 3600:
        raise SettingsError(f"{env_name('cad_seconds')}: must be more than 0, at most 3600")


def check_takeover(settings: Settings) -> None:
    if settings.takeover not in ("continue", "interrupt"):
        raise SettingsError(f"{env_name('takeover')}: expected continue or interrupt")
    if not 0 < settings.heartbeat_seconds <= 60:
        raise SettingsError(f"{env_name('heartbeat_seconds')}: must be more than 0, at most 60")
    # Several beats: a slow query or a busy moment must not make a live instance look dead.
    if not 2 * settings.heartbeat_seconds <= settings.instance_dead_after_seconds <= 3600:
        name = env_name("instance_dead_after_seconds")
        raise SettingsError(f"{name}: must be at least twice the heartbeat, at most 3600")


def check_policies(settings: Settings) -> None:
    """The security and operations settings: rate limits, networks, logs, encryption."""
    for field in ("rate_limit_anonymous", "rate_limit_user", "rate_limit_enterprise"):
        if getattr(settings, field) < 1:
            raise SettingsError(f"{env_name(field)}: must be at least 1")
    for field in ("allow_cidrs", "admin_allow_cidrs", "trusted_proxies"):
        try:
            parse_networks(getattr(settings, field))
        except BadNetwork as error:
            raise SettingsError(f"{env_name(field)}: {error}") from None
    if settings.log_level.upper() not in LOG_LEVELS:
        raise SettingsError(f"{env_name('log_level')}: expected one of {', '.join(LOG_LEVELS)}")
    if settings.log_format not in ("text", "json"):
        raise SettingsError(f"{env_name('log_format')}: expected text or json")
    check_signing(settings)
    if settings.encryption_key is not None:
        try:
            size = len(base64.b64decode(settings.encryption_key, validate=True))
        except binascii.Error:
            size = 0
        if size not in (16, 24, 32):
            raise SettingsError(
                f"{env_name('encryption_key')}: expected base64 of 16, 24 or 32 random bytes"
            )


def check_signing(settings: Settings) -> None:
    if settings.signing_key is not None:
        try:
            public_key_of(settings.signing_key)
        except BadKey as error:
            raise SettingsError(f"{env_name('signing_key')}: {error}") from None
    if not 0 < settings.checkpoint_minutes <= 7 * 24 * 60:
        raise SettingsError(f"{env_name('checkpoint_minutes')}: must be more than 0, at most 10080")
