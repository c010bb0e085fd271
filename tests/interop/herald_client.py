"""What every slixmpp interop script shares: a client that logs in to Herald over STARTTLS with
SCRAM-SHA-256 trusting only Herald's certificate, the command line, and bounded steps that fail
with the name of the step."""

import argparse
import asyncio
import ssl
import sys

import slixmpp
from slixmpp.exceptions import IqError

STEP_TIMEOUT = 15


class HeraldClient(slixmpp.ClientXMPP):
    """A slixmpp client for Herald; subclasses register plugins and handlers."""

    def __init__(self, jid, password, cafile, plugins=()):
        super().__init__(jid, password, sasl_mech="SCRAM-SHA-256")
        self.ssl_context = ssl.create_default_context(cafile=cafile)
        for plugin in plugins:
            self.register_plugin(plugin)
        self.started = asyncio.Event()
        self.add_event_handler("session_start", self._on_start)

    async def _on_start(self, _event):
        await self.get_roster()
        self.send_presence()
        self.started.set()


def arguments(extra=None):
    """The common command line (and any extra options the script adds)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--domain", default="localhost")
    parser.add_argument("--password", required=True)
    parser.add_argument("--cafile", required=True)
    if extra:
        extra(parser)
    return parser.parse_args()


def fail(message):
    print(f"FAIL: {message}", flush=True)
    sys.exit(1)


async def step(name, awaitable):
    """Awaits one step of a scenario, failing with its name on timeout or an iq error."""
    try:
        return await asyncio.wait_for(awaitable, STEP_TIMEOUT)
    except asyncio.TimeoutError:
        fail(f"{name} did not happen within {STEP_TIMEOUT} s")
    except IqError as err:
        fail(f"{name} was refused: {err.iq['error']['condition']} {err.iq['error']['text']}")


async def next_matching(queue, predicate):
    while True:
        item = await queue.get()
        if predicate(item):
            return item


async def login(args, client):
    """Connects `client` and waits for its session, checking that SCRAM-SHA-256 was used."""
    client.connect(args.host, args.port)
    await step(f"{client.boundjid.bare} login", client.started.wait())
    mech = client["feature_mechanisms"].mech.name
    if mech != "SCRAM-SHA-256":
        fail(f"{client.boundjid.bare} authenticated with {mech}, not SCRAM-SHA-256")
    return client
