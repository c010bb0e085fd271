"""Foreign-client check of Herald's XMPP core, driven by slixmpp (not written by us).

Two users log in over STARTTLS with SCRAM-SHA-256, subscribe to each other's presence, exchange
messages, and one receives a message sent while it was offline, with its XEP-0203 delay stamp.
Exits 0 and prints PASS when every step happened; exits 1 naming the step that did not.
"""

import asyncio

from herald_client import STEP_TIMEOUT, HeraldClient, arguments, fail, login, next_matching, step


class Client(HeraldClient):
    def __init__(self, jid, password, cafile):
        super().__init__(jid, password, cafile, plugins=("xep_0030", "xep_0199", "xep_0203"))
        self.messages = asyncio.Queue()
        self.available = asyncio.Queue()
        self.add_event_handler("message", self.messages.put_nowait)
        self.add_event_handler("presence_available", self.available.put_nowait)


async def connect(args, user):
    client = await login(args, Client(f"{user}@{args.domain}", args.password, args.cafile))
    if client.transport.get_extra_info("sslcontext") is None:
        fail(f"{user} stream is not encrypted")
    return client


async def main():
    args = arguments()
    alice_jid, bob_jid = f"alice@{args.domain}", f"bob@{args.domain}"

    alice = await connect(args, "alice")
    bob = await connect(args, "bob")

    # Presence: alice asks for bob's presence; slixmpp auto-approves and subscribes back.
    alice.send_presence_subscription(pto=bob_jid)
    await step("alice sees bob available", next_matching(alice.available, lambda p: p["from"].bare == bob_jid))
    await step("bob sees alice available", next_matching(bob.available, lambda p: p["from"].bare == alice_jid))
    roster = alice.client_roster[bob_jid]["subscription"]
    if roster != "both":
        fail(f"alice's roster item for bob has subscription {roster!r}, expected 'both'")

    # Messages both ways.
    alice.send_message(mto=bob_jid, mbody="hello bob", mtype="chat")
    msg = await step("bob receives hello", next_matching(bob.messages, lambda m: m["body"] == "hello bob"))
    if msg["from"].bare != alice_jid or not msg["from"].resource:
        fail(f"message from {msg['from']} is not stamped with alice's full JID")
    bob.send_message(mto=msg["from"], mbody="hi alice", mtype="chat")
    await step("alice receives reply", next_matching(alice.messages, lambda m: m["body"] == "hi alice"))

    # Ping and disco against the server.
    await step("ping", alice["xep_0199"].ping(jid=args.domain, timeout=STEP_TIMEOUT))
    info = await step("disco#info", alice["xep_0030"].get_info(jid=args.domain))
    if "urn:xmpp:ping" not in info["disco_info"]["features"]:
        fail("disco#info does not list urn:xmpp:ping")

    # Offline delivery with a delay stamp.
    bob.disconnect()
    await step("bob disconnects", bob.disconnected)
    # Wait until the server has processed bob's departure: a ping round trip orders it after.
    await step("ping after bob left", alice["xep_0199"].ping(jid=args.domain, timeout=STEP_TIMEOUT))
    alice.send_message(mto=bob_jid, mbody="while you were away", mtype="chat")
    await step("ping after the offline message", alice["xep_0199"].ping(jid=args.domain, timeout=STEP_TIMEOUT))
    bob = await connect(args, "bob")
    offline = await step("bob receives the offline message", next_matching(bob.messages, lambda m: m["body"] == "while you were away"))
    stamp = offline["delay"]["stamp"]
    if stamp is None:
        fail("offline message has no XEP-0203 delay stamp")

    alice.disconnect()
    bob.disconnect()
    await asyncio.gather(alice.disconnected, bob.disconnected)
    print(f"PASS: presence, messages, ping, disco, offline delivery (delay stamp {stamp.isoformat()})")


if __name__ == "__main__":
    asyncio.run(main())
