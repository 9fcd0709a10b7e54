"""Telemetry names: span names, attribute keys, event names and metric names, in one place.

These are a public contract (docs/telemetry.md, the dashboards, users' queries): change them only
with a changelog entry.
"""

from __future__ import annotations

INSTRUMENTATION_NAME = "asyncwarden"

# Spans
SPAN_BATCH = "asyncwarden.batch"  # one per wait/gather/as_completed/TaskGroup
SPAN_TASK = "asyncwarden.task"  # opt-in, capped per batch
SPAN_COMBINE = "asyncwarden.combine"  # one per pandas concat/merge/join of tracked frames

# Batch attributes
BATCH_ID = "asyncwarden.batch.id"
BATCH_KIND = "asyncwarden.batch.kind"  # gather | wait | as_completed | taskgroup | wait_for
BATCH_SIZE = "asyncwarden.batch.size"
BATCH_RETURN_WHEN = "asyncwarden.batch.return_when"
BATCH_TIMEOUT = "asyncwarden.batch.timeout"
BATCH_DONE = "asyncwarden.batch.done"
BATCH_PENDING = "asyncwarden.batch.pending"
BATCH_FAILED = "asyncwarden.batch.failed"
BATCH_CANCELLED = "asyncwarden.batch.cancelled"
BATCH_SUBMISSION_ORDER = "asyncwarden.batch.submission_order"
BATCH_COMPLETION_ORDER = "asyncwarden.batch.completion_order"
BATCH_CONSUMED_ORDER = "asyncwarden.batch.consumed_order"
BATCH_PARENT_TASK = "asyncwarden.batch.parent_task"

# Task attributes (task spans)
TASK_NAME = "asyncwarden.task.name"
TASK_COROUTINE = "asyncwarden.task.coroutine"
TASK_POSITION = "asyncwarden.task.position"
TASK_OUTCOME = "asyncwarden.task.outcome"  # ok | failed | cancelled | pending
TASK_OUTCOME_TYPE = "asyncwarden.task.outcome_type"

# Combine attributes
COMBINE_OPERATION = "asyncwarden.combine.operation"  # concat | merge | join
COMBINE_INPUTS = "asyncwarden.combine.inputs"
COMBINE_ROWS_IN = "asyncwarden.combine.rows_in"
COMBINE_ROWS_OUT = "asyncwarden.combine.rows_out"
COMBINE_BATCHES = "asyncwarden.combine.batch_ids"

# Call site: OpenTelemetry's code.* semantic conventions
CODE_FILEPATH = "code.filepath"
CODE_LINENO = "code.lineno"
CODE_FUNCTION = "code.function"

# Finding span events: the event is named after the rule code ("AW101")
FINDING_CODE = "asyncwarden.finding.code"
FINDING_NAME = "asyncwarden.finding.name"
FINDING_MESSAGE = "asyncwarden.finding.message"
FINDING_SITES = "asyncwarden.finding.sites"

# Metrics
METRIC_FINDINGS = "asyncwarden.findings"  # counter, {finding}, attribute asyncwarden.rule
METRIC_BATCH_DURATION = "asyncwarden.batch.duration"  # histogram, s
METRIC_BATCH_SIZE = "asyncwarden.batch.size"  # histogram, {task}
METRIC_PENDING_AT_SHUTDOWN = "asyncwarden.tasks.pending_at_shutdown"  # counter, {task}
METRIC_RULE_ATTRIBUTE = "asyncwarden.rule"
METRIC_KIND_ATTRIBUTE = "asyncwarden.batch.kind"
