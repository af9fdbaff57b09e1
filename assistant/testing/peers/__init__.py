"""Peers for tests, one pytest plugin module each (fixtures in brackets); opt in with
`pytest_plugins = ["assistant.testing.peers.smtp", ...]` in a conftest.py.

Real servers, started on free loopback ports and stopped afterwards:
    `rasa` (`rasa_url`), `postgres` (`pg_url`, a throwaway database on TEST_DATABASE_URL),
    `smtp` (`smtp_server`, `smtp_tls_server`: aiosmtpd keeping every message), `radicale`
    (`radicale`, `radicale_server`, `xandikos`, `caldav_credentials`; `add_event`,
    `office_calendar`), `synapse` (`synapse`; `running_synapse()`), `browser` (`browser`,
    `browser_context`, `page`: Debian's Chromium through Playwright).
Stand-ins for clouds that cannot run here, following their documented wire formats:
    `telegram_api` (`FakeTelegram`), `twilio_api` (`FakeTwilio`, `post_signed`).
"""
