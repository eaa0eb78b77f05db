"""Indexes that serve audit search at millions of events (issue 21): newest first by ``(at, id)``,
the action prefix (``varchar_pattern_ops`` on PostgreSQL, so ``LIKE 'orders:%'`` uses it under any
collation), and the case-insensitive user filter on ``UPPER(actor_username)``. New indexes are
built before the ones they replace are dropped. Only indexes change: the append-only triggers of
0002 are untouched (CREATE/DROP INDEX writes no rows)."""

import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only")]

    operations = [
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["at", "id"], name="audit_at_id_idx"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                fields=["action", "at"],
                name="audit_action_prefix_idx",
                opclasses=["varchar_pattern_ops", "timestamptz_ops"],
            ),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                django.db.models.functions.text.Upper("actor_username"),
                models.F("at"),
                models.F("id"),
                name="audit_actor_upper_idx",
            ),
        ),
        migrations.RemoveIndex(model_name="auditevent", name="audit_audit_at_c42b4b_idx"),
        migrations.RemoveIndex(model_name="auditevent", name="audit_audit_action_d1703a_idx"),
        migrations.RemoveIndex(model_name="auditevent", name="audit_audit_actor_u_39fe5f_idx"),
    ]
