"""``chatcli replay``: re-run a saved reply and say whether it comes out the same."""

import json
from dataclasses import replace
from typing import Annotated

import typer

from chatcli.cli.completion import complete_sessions
from chatcli.cli.errors import say, user_errors
from chatcli.cli.options import JsonOpt
from chatcli.errors import EXIT_REPLAY_DIFFERS


def replay(
    session: Annotated[
        str,
        typer.Argument(metavar="NAME|ID", help="The session.", autocompletion=complete_sessions),
    ],
    message: Annotated[
        str | None,
        typer.Option(metavar="ID", help="The reply to replay (default: the last one shown)."),
    ] = None,
    json_output: JsonOpt = False,
) -> None:
    """Re-run a saved reply with its model file, prompt, sampling and seed; diff the text.

    Exit 0: identical; 10: different (the diff is printed); 11: it cannot be replayed
    faithfully (the reason is printed).
    """
    # Imported here: the command loads a model, and --help must stay fast.
    from chatcli.assembly import build_engine, open_sessions
    from chatcli.config import load_settings
    from chatcli.core.replay import check_engine, plan_replay, reply_to_replay, run_replay
    from chatcli.core.sessions import settings_for_session

    with user_errors(), open_sessions() as sessions:
        found = sessions.require(session)
        plan = plan_replay(sessions, reply_to_replay(sessions, found, message))
        settings = settings_for_session(load_settings(), found)
        settings = replace(settings, context_length=plan.chain[-1].context_length)
        engine = build_engine(settings, snapshots=False)
        try:
            check_engine(engine.load(), plan)
            say(f"replaying reply {plan.message.id} ({len(plan.chain)} generation(s))…")
            outcome = run_replay(engine, plan)
        finally:
            engine.close()
    if json_output:
        print(json.dumps(outcome.to_dict()))
    elif outcome.identical:
        print(f"identical: reply {outcome.message.id}")
    else:
        print(f"not identical: reply {outcome.message.id}")
        print(outcome.diff(), end="")
    raise typer.Exit(0 if outcome.identical else EXIT_REPLAY_DIFFERS)
