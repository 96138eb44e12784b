"""Run the change consumer's scheduled handler once, as its own process (the kill tests end it
with SIGKILL). The password comes from ``DP_TEST_DATABASE_PASSWORD`` through the runtime's
password provider (a deployed function reads its secret instead)."""

from __future__ import annotations

import json
import os

from deploy_paradigms.runtime import change_consumer, connection

if __name__ == "__main__":
    password = os.environ["DP_TEST_DATABASE_PASSWORD"]
    connection.set_password_provider(lambda _settings: password)
    print(json.dumps(change_consumer.handler({"source": "aws.events"}, None)))
