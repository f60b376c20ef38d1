import pytest

from infrastructure.settings import SettingsError, read_settings


def test_defaults_need_no_environment():
    settings = read_settings({})
    assert settings.database_url is None and settings.data_dir == "./.llmchat"
    assert (settings.cad_memory_mb, settings.cad_seconds) == (512, 10.0)
    assert (settings.max_continuations, settings.provider_idle_seconds) == (3, 60.0)


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"LLMCHAT_DATABASE_URL": "mysql://x"}, "LLMCHAT_DATABASE_URL"),
        ({"LLMCHAT_REDIS_URL": "http://x"}, "LLMCHAT_REDIS_URL"),
        ({"LLMCHAT_DB_POOL_SIZE": "many"}, "LLMCHAT_DB_POOL_SIZE"),
        ({"LLMCHAT_ADMIN_EMAIL": "a@b.io"}, "LLMCHAT_ADMIN_PASSWORD"),
        ({"LLMCHAT_JWT_SECRET": "short"}, "LLMCHAT_JWT_SECRET"),
        ({"LLMCHAT_REFRESH_GRACE_SECONDS": "-1"}, "LLMCHAT_REFRESH_GRACE_SECONDS"),
        ({"LLMCHAT_REFRESH_GRACE_SECONDS": "soon"}, "LLMCHAT_REFRESH_GRACE_SECONDS"),
        ({"LLMCHAT_CAD_MEMORY_MB": "64"}, "LLMCHAT_CAD_MEMORY_MB"),
        ({"LLMCHAT_CAD_MEMORY_MB": "lots"}, "LLMCHAT_CAD_MEMORY_MB"),
        ({"LLMCHAT_CAD_SECONDS": "0"}, "LLMCHAT_CAD_SECONDS"),
        ({"LLMCHAT_PROVIDER_FIRST_BYTE_SECONDS": "0"}, "LLMCHAT_PROVIDER_FIRST_BYTE_SECONDS"),
        ({"LLMCHAT_PROVIDER_FIRST_BYTE_SECONDS": "601"}, "LLMCHAT_PROVIDER_FIRST_BYTE_SECONDS"),
        ({"LLMCHAT_PROVIDER_IDLE_SECONDS": "0"}, "LLMCHAT_PROVIDER_IDLE_SECONDS"),
        ({"LLMCHAT_MAX_CONTINUATIONS": "-1"}, "LLMCHAT_MAX_CONTINUATIONS"),
        ({"LLMCHAT_MAX_CONTINUATIONS": "often"}, "LLMCHAT_MAX_CONTINUATIONS"),
    ],
)
def test_a_bad_setting_is_named_in_the_error(environ, variable):
    with pytest.raises(SettingsError, match=variable):
        read_settings(environ)
