"""The `threadline` command: serve, demo, migrate, keys, projects, insights, users, backup,
restore, retention, copy, import and export.

Every flag can also be set as a THREADLINE_* environment variable (see threadline.config),
except the demo data's own (`demo --events` and the like; it ignores THREADLINE_DATABASE_URL).
Results a script may want (a new key) go to stdout alone; everything else goes to stderr.

One module per command group (base.py holds the group and what they share); the commands of
insights/, privacy/, maintenance/ and transfer/ live in those packages and are added here.
"""

from __future__ import annotations

from threadline.cli import copy, keys, projects, serve
from threadline.cli.base import main
from threadline.insights.cli import insights
from threadline.maintenance.commands import backup, restore, retention
from threadline.privacy.cli import users
from threadline.transfer.commands import export, import_group

for command in (insights, users, backup, restore, retention, import_group, export):
    main.add_command(command)

__all__ = ["copy", "keys", "main", "projects", "serve"]
