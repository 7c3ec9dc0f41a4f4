"""Drives a Ratel server with the official `taskbadger` SDK and CLI.

Run by tests/tests/compat.rs with TASKBADGER_HOST and TASKBADGER_API_KEY (a whole project key)
set. Exits non-zero, with the failing assertion, when anything the SDK does today does not work.
"""

import os
import subprocess
import sys

from taskbadger import Action, EmailIntegration, StatusEnum, Task, WebhookIntegration, list_tasks
from taskbadger.internal.api.action_endpoints import action_create, action_list
from taskbadger.internal.models import ActionRequest
from taskbadger.sdk import Badger, _init

HOST = os.environ["TASKBADGER_HOST"]
KEY = os.environ["TASKBADGER_API_KEY"]


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print(f"ok - {what}")


def main():
    # The whole key yields org and project; the SDK then sends only the secret.
    _init(HOST, token=KEY)
    settings = Badger.current.settings
    check(settings.organization_slug == "default", "org decoded from the key")
    check(settings.project_slug == "default", "project decoded from the key")

    task = Task.create("compat", data={"a": 1}, tags={"env": "ci"}, value_max=200)
    check(task.status == StatusEnum.PENDING, "create: pending by default")
    check(task.data == {"a": 1}, "create: data round-trips")
    check(task.tags == {"env": "ci"}, "create: tags round-trip")

    task.update_value(50)
    check(task.value == 50 and task.value_percent == 25, "update_value: value and percent")
    task.increment_value(10)
    check(task.value == 60, "increment_value")
    task.tag({"extra": "1"})
    check(task.tags == {"env": "ci", "extra": "1"}, "tag merges tags")
    task.success()
    check(task.status == StatusEnum.SUCCESS, "success")
    check(task.end_time is not None, "end_time set on success")

    failing = Task.create("compat-failing")
    failing.error(data={"reason": "boom"})
    check(failing.status == StatusEnum.ERROR, "error")
    check(failing.data.get("reason") == "boom", "error data")

    got = Task.get(task.id)
    check(got.id == task.id and got.value == 60, "get")

    page = list_tasks(page_size=1)
    check(len(page) == 1 and page.results[0].id == failing.id, "list: newest first, page_size")
    check(page.next_ is not None, "list: next page link")
    cursor = page.next_.split("cursor=")[1].split("&")[0]
    second = list_tasks(page_size=1, cursor=cursor)
    check(second.results[0].id == task.id, "list: cursor follows")

    with_action = Task.create(
        "compat-actions",
        actions=[Action("error", EmailIntegration(to="ops@example.com"))],
    )
    with_action.add_actions([Action("success", WebhookIntegration(id="webhook:hook-1"))])
    client = Badger.current.settings.get_client()
    kwargs = dict(
        client=client,
        organization_slug="default",
        project_slug="default",
        task_id=with_action.id,
    )
    listed = action_list.sync(**kwargs)
    check(len(listed) == 2, "actions inline on create and update")
    created = action_create.sync(
        body=ActionRequest(trigger="*/10%", integration="email", config={"to": "a@example.com"}),
        **kwargs,
    )
    check(created.trigger == "*/10%", "actions endpoint: create")
    check(len(action_list.sync(**kwargs)) == 3, "actions endpoint: list")

    env = dict(os.environ)
    ok = subprocess.run(["taskbadger", "run", "compat-cli-ok", "--", "true"], env=env)
    check(ok.returncode == 0, "cli run -- true exits 0")
    bad = subprocess.run(["taskbadger", "run", "compat-cli-fail", "--", "false"], env=env)
    check(bad.returncode == 1, "cli run -- false exits 1")
    by_name = {t.name: t for t in list_tasks(page_size=100)}
    check(by_name["compat-cli-ok"].status == StatusEnum.SUCCESS, "cli: success task")
    failed = by_name["compat-cli-fail"]
    check(failed.status == StatusEnum.ERROR, "cli: error task")
    check(failed.data.get("return_code") == 1, "cli: return_code in data")

    # A monitored run: `--monitor-id` sends the X-TASKBADGER-MONITOR header on create.
    monitor_id = os.environ["RATEL_MONITOR_ID"]
    monitored = subprocess.run(
        ["taskbadger", "run", "compat-cli-monitored", "--monitor-id", monitor_id, "--", "true"],
        env=env,
    )
    check(monitored.returncode == 0, "cli run --monitor-id exits 0")
    by_name = {t.name: t for t in list_tasks(page_size=100)}
    linked = by_name["compat-cli-monitored"]
    check(linked.status == StatusEnum.SUCCESS, "cli --monitor-id: success task")
    check(linked.additional_properties.get("monitor") == monitor_id, "cli --monitor-id: linked")
    sdk_run = Task.create("compat-sdk-monitored", monitor_id=monitor_id)
    check(sdk_run.id != linked.id, "sdk Task.create(monitor_id=...) accepted")
    print("all SDK and CLI checks passed")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        sys.exit(1)
