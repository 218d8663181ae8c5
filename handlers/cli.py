"""Flask CLI commands: `db upgrade|downgrade|check`, `worker`, `seed-demo`, `create-staff`,
`zalo-token`, `api-token create|list|revoke`, `report`."""

from __future__ import annotations

from pathlib import Path

import click
from alembic import command
from alembic.config import Config as AlembicConfig
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from handlers.runtime import get_runtime

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"

db_cli = AppGroup("db", help="Database schema (Alembic).")
api_token_cli = AppGroup("api-token", help="Bearer tokens for the staff JSON API (/api/v1).")


def alembic_config(url: str) -> AlembicConfig:
    """Return an Alembic configuration for `url` using the project's migrations folder."""
    cfg = AlembicConfig(str(MIGRATIONS / "alembic.ini"))
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["database_url"] = url
    return cfg


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Upgrade the database schema to REVISION (default: head)."""
    command.upgrade(alembic_config(current_app.config["DATABASE_URL"]), revision)


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Downgrade the database schema to REVISION."""
    command.downgrade(alembic_config(current_app.config["DATABASE_URL"]), revision)


@db_cli.command("check")
def db_check() -> None:
    """Fail when the models and the migrations disagree (run against an upgraded database)."""
    command.check(alembic_config(current_app.config["DATABASE_URL"]))


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Create demo units, fields and one staff account per role, and print their credentials."""
    from cases.demo import seed_demo

    with get_runtime().sessions() as session, session.begin():
        accounts = seed_demo(session)
    click.echo("Tài khoản thử nghiệm (demo accounts):")
    for account in accounts:
        click.echo(f"  {account.username:<14} {account.password:<24} {account.roles}")


@click.command("create-staff")
@with_appcontext
@click.option("--username", required=True)
@click.option("--full-name", required=True)
@click.option("--unit", "unit_code", required=True, help="Unit code, e.g. VP-UBND.")
@click.option("--roles", required=True, help="Comma-separated: admin,coordinator,handler,leader.")
@click.password_option()
def create_staff_command(
    username: str, full_name: str, unit_code: str, roles: str, password: str
) -> None:
    """Create a staff account."""
    from cases.staff import StaffError, create_staff

    with get_runtime().sessions() as session, session.begin():
        try:
            staff = create_staff(
                session, username, full_name, unit_code, roles.split(","), password
            )
        except StaffError as error:
            raise click.ClickException(str(error)) from None
    click.echo(f"Created staff account {staff.username}.")


@click.command("zalo-token")
@click.option("--access-token", help="The OA access token (from the consent flow or API Explorer).")
@click.option("--refresh-token", help="The refresh token that came with it.")
@click.option("--expires-in", default=90000, show_default=True, help="Access token lifetime, s.")
@with_appcontext
def zalo_token_command(
    access_token: str | None, refresh_token: str | None, expires_in: int
) -> None:
    """Show the OA token status, or store a new token pair (resumes sending)."""
    from bot.zalo.client import TokenPair

    tokens = get_runtime().tokens
    if access_token or refresh_token:
        if not (access_token and refresh_token):
            raise click.ClickException("Give both --access-token and --refresh-token.")
        tokens.replace(TokenPair(access_token, refresh_token, expires_in), "cli")
    info = tokens.info()
    click.echo(
        f"status: {info.status.value}; generation {info.generation}; "
        f"expires {info.access_expires_at or 'unknown'}; source {info.source or '-'}"
    )
    if info.last_error:
        click.echo(f"last error: {info.last_error}")


@api_token_cli.command("create")
@click.option("--username", required=True, help="The staff account the token acts as.")
@click.option("--name", required=True, help="What the token is for, e.g. the calling system.")
def api_token_create(username: str, name: str) -> None:
    """Create an API token and print it (the only time it is shown)."""
    from cases.api_tokens import ApiTokenError, create_token
    from models import utcnow

    with get_runtime().sessions() as session, session.begin():
        try:
            token, raw = create_token(session, username, name, utcnow())
        except ApiTokenError as error:
            raise click.ClickException(str(error)) from None
        token_id = token.id
    click.echo(f"Created API token {token_id} ({name}) for {username}.")
    click.echo("Store it now: it is shown only this once.")
    click.echo(raw)


@api_token_cli.command("list")
@click.option("--username", required=True)
def api_token_list(username: str) -> None:
    """List a staff account's API tokens (never the tokens themselves)."""
    from cases.api_tokens import ApiTokenError, tokens_of

    with get_runtime().sessions() as session:
        try:
            tokens = tokens_of(session, username)
        except ApiTokenError as error:
            raise click.ClickException(str(error)) from None
    if not tokens:
        click.echo(f"{username} has no API token.")
    for token in tokens:
        state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}Z" if token.revoked_at else "active"
        used = f"{token.last_used_at:%Y-%m-%d %H:%M}Z" if token.last_used_at else "never"
        click.echo(
            f"{token.id:>5}  {token.prefix}…  {token.name}  created "
            f"{token.created_at:%Y-%m-%d %H:%M}Z  last used {used}  {state}"
        )


@api_token_cli.command("revoke")
@click.option("--id", "token_id", required=True, type=int)
def api_token_revoke(token_id: int) -> None:
    """Revoke an API token: requests carrying it are refused from now on."""
    from cases.api_tokens import ApiTokenError, revoke_token
    from models import utcnow

    with get_runtime().sessions() as session, session.begin():
        try:
            token = revoke_token(session, token_id, utcnow())
        except ApiTokenError as error:
            raise click.ClickException(str(error)) from None
        revoked_at = token.revoked_at
    click.echo(f"API token {token_id} revoked ({revoked_at:%Y-%m-%d %H:%M}Z).")


@click.command("report")
@click.option("--from", "start", required=True, help="First day, YYYY-MM-DD or DD/MM/YYYY.")
@click.option("--to", "end", required=True, help="Last day, YYYY-MM-DD or DD/MM/YYYY.")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv"]), default="xlsx")
@click.option("--out", required=True, type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def report_command(start: str, end: str, fmt: str, out: str) -> None:
    """Write the PAKN report of a period (all units) to a file."""
    from cases.clock import local_date
    from cases.report_files import render
    from cases.reports import ALL_UNITS, PeriodError, compute, note_for, parse_period
    from models import utcnow

    now = utcnow()
    today = local_date(now)
    try:
        period = parse_period({"kind": "custom", "from": start, "to": end}, today)
    except PeriodError as error:
        raise click.ClickException(str(error)) from None
    with get_runtime().sessions() as session, session.begin():
        figures = compute(session, period, None, today)
        note = note_for(session, period)
        content = render(figures, ALL_UNITS, note.text if note else "", now, fmt)
    Path(out).write_bytes(content)
    click.echo(f"Đã ghi báo cáo {period.label} ({period.dates}) vào {out}.")


@click.command("worker")
@with_appcontext
def worker_command() -> None:
    """Run the background worker (outbox sweep, attachment downloads) until SIGTERM."""
    from bot.worker import WorkerLockError, run_worker

    try:
        run_worker(current_app._get_current_object())  # type: ignore[attr-defined]
    except WorkerLockError as error:
        raise click.ClickException(str(error)) from None


def init_app(app: Flask) -> None:
    """Register the CLI commands on `app`."""
    app.cli.add_command(db_cli)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(create_staff_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(report_command)
    app.cli.add_command(zalo_token_command)
    app.cli.add_command(api_token_cli)
