"""Foreign-client check of Herald's XMPP core, driven by slixmpp (not written by us).

Two users log in over STARTTLS with SCRAM-SHA-256, subscribe to each other's presence, exchange
messages, and one receives a message sent while it was offline, with its XEP-0203 delay stamp.
Exits 0 and prints PASS when every step happened; exits 1 naming the step that did not.
"""

import argparse
import asyncio
import ssl
import sys

import slixmpp

STEP_TIMEOUT = 15


class Client(slixmpp.ClientXMPP):
    def __init__(self, jid, password, cafile):
        super().__init__(jid, password, sasl_mech="SCRAM-SHA-256")
        self.ssl_context = ssl.create_default_context(cafile=cafile)
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0199")
        self.register_plugin("xep_0203")
        self.messages = asyncio.Queue()
        self.available = asyncio.Queue()
        self.started = asyncio.Event()
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("message", self.messages.put_nowait)
        self.add_event_handler("presence_available", self.available.put_nowait)

    async def on_start(self, _event):
        await self.get_roster()
        self.send_presence()
        self.started.set()


async def step(name, awaitable):
    try:
        return await asyncio.wait_for(awaitable, STEP_TIMEOUT)
    except asyncio.TimeoutError:
        print(f"FAIL: {name} did not happen within {STEP_TIMEOUT} s", flush=True)
        sys.exit(1)


async def next_matching(queue, predicate):
    while True:
        item = await queue.get()
        if predicate(item):
            return item


async def login(args, user):
    client = Client(f"{user}@{args.domain}", args.password, args.cafile)
    client.connect(args.host, args.port)
    await step(f"{user} login", client.started.wait())
    mech = client["feature_mechanisms"].mech.name
    if mech != "SCRAM-SHA-256":
        print(f"FAIL: {user} authenticated with {mech}, not SCRAM-SHA-256")
        sys.exit(1)
    if not client.is_connected() or client.transport.get_extra_info("sslcontext") is None:
        print(f"FAIL: {user} stream is not encrypted")
        sys.exit(1)
    return client


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--domain", default="localhost")
    parser.add_argument("--password", required=True)
    parser.add_argument("--cafile", required=True)
    args = parser.parse_args()
    alice_jid, bob_jid = f"alice@{args.domain}", f"bob@{args.domain}"

    alice = await login(args, "alice")
    bob = await login(args, "bob")

    # Presence: alice asks for bob's presence; slixmpp auto-approves and subscribes back.
    alice.send_presence_subscription(pto=bob_jid)
    await step("alice sees bob available", next_matching(alice.available, lambda p: p["from"].bare == bob_jid))
    await step("bob sees alice available", next_matching(bob.available, lambda p: p["from"].bare == alice_jid))
    roster = alice.client_roster[bob_jid]["subscription"]
    if roster != "both":
        print(f"FAIL: alice's roster item for bob has subscription {roster!r}, expected 'both'")
        sys.exit(1)

    # Messages both ways.
    alice.send_message(mto=bob_jid, mbody="hello bob", mtype="chat")
    msg = await step("bob receives hello", next_matching(bob.messages, lambda m: m["body"] == "hello bob"))
    if msg["from"].bare != alice_jid or not msg["from"].resource:
        print(f"FAIL: message from {msg['from']} is not stamped with alice's full JID")
        sys.exit(1)
    bob.send_message(mto=msg["from"], mbody="hi alice", mtype="chat")
    await step("alice receives reply", next_matching(alice.messages, lambda m: m["body"] == "hi alice"))

    # Ping and disco against the server.
    await step("ping", alice["xep_0199"].ping(jid=args.domain, timeout=STEP_TIMEOUT))
    info = await step("disco#info", alice["xep_0030"].get_info(jid=args.domain))
    if "urn:xmpp:ping" not in info["disco_info"]["features"]:
        print("FAIL: disco#info does not list urn:xmpp:ping")
        sys.exit(1)

    # Offline delivery with a delay stamp.
    bob.disconnect()
    await step("bob disconnects", bob.disconnected)
    # Wait until the server has processed bob's departure: a ping round trip orders it after.
    await step("ping after bob left", alice["xep_0199"].ping(jid=args.domain, timeout=STEP_TIMEOUT))
    alice.send_message(mto=bob_jid, mbody="while you were away", mtype="chat")
    await step("ping after the offline message", alice["xep_0199"].ping(jid=args.domain, timeout=STEP_TIMEOUT))
    bob = await login(args, "bob")
    offline = await step("bob receives the offline message", next_matching(bob.messages, lambda m: m["body"] == "while you were away"))
    stamp = offline["delay"]["stamp"]
    if stamp is None:
        print("FAIL: offline message has no XEP-0203 delay stamp")
        sys.exit(1)

    alice.disconnect()
    bob.disconnect()
    await asyncio.gather(alice.disconnected, bob.disconnected)
    print(f"PASS: presence, messages, ping, disco, offline delivery (delay stamp {stamp.isoformat()})")


if __name__ == "__main__":
    asyncio.run(main())
