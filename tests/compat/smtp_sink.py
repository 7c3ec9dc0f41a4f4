"""A real SMTP server for Ratel's email tests (aiosmtpd), on 127.0.0.1.

Usage: smtp_sink.py OUT_FILE. Prints "listening on PORT" once ready, then appends one JSON line
per accepted message to OUT_FILE: {"from", "to", "to_header", "subject", "body" (decoded)}. Recipients decide the reply: an
address starting with "tempfail" gets 451 (a transient failure) the first two times it is
tried, one starting with "reject" gets 550 (permanent).
"""

import asyncio
import email
import email.policy
import json
import socket
import sys

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, out):
        self.out = out
        self.tempfails = {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("reject"):
            return "550 5.1.1 no such user"
        if address.startswith("tempfail"):
            n = self.tempfails.get(address, 0)
            self.tempfails[address] = n + 1
            if n < 2:
                return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with open(self.out, "a", encoding="utf-8") as f:
            f.write(
                json.dumps(
                    {
                        "from": envelope.mail_from,
                        "to": envelope.rcpt_tos,
                        "to_header": str(message["To"]),
                        "subject": str(message["Subject"]),
                        "body": message.get_content(),
                    }
                )
                + "\n"
            )
        return "250 Message accepted"


def main():
    out = sys.argv[1]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(Sink(out), hostname="127.0.0.1", port=port)
    controller.start()
    print(f"listening on {port}", flush=True)
    try:
        asyncio.get_event_loop().run_forever()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
