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
SPAN_FINDING = "asyncwarden.finding"  # a finding detected outside any asyncwarden span (AW3xx)

# Batch attributes
BATCH_ID = "asyncwarden.batch.id"
BATCH_KIND = "asyncwarden.batch.kind"  # gather | wait | as_completed | taskgroup | wait_for
BATCH_SIZE = "asyncwarden.batch.size"
BATCH_RETURN_WHEN = "asyncwarden.batch.return_when"
BATCH_TIMEOUT = "asyncwarden.batch.timeout"
BATCH_RETURN_EXCEPTIONS = "asyncwarden.batch.return_exceptions"  # gather
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
# Input order as "batch_id:position" strings: the order the operation received task results in.
COMBINE_SOURCES = "asyncwarden.combine.sources"

# Call site: OpenTelemetry's stable code.* semantic conventions (they replaced the deprecated
# code.filepath, code.lineno and code.function by these).
CODE_FILEPATH = "code.file.path"
CODE_LINENO = "code.line.number"
CODE_FUNCTION = "code.function.name"

# Finding span events: the event is named after the rule code ("AW101")
FINDING_CODE = "asyncwarden.finding.code"
FINDING_NAME = "asyncwarden.finding.name"
FINDING_MESSAGE = "asyncwarden.finding.message"
FINDING_SITES = "asyncwarden.finding.sites"  # "role: file:line in function" strings
FINDING_TITLE = "asyncwarden.finding.title"
FINDING_BATCHES = "asyncwarden.finding.batch_ids"

# Metrics
METRIC_FINDINGS = "asyncwarden.findings"  # counter, {finding}, attribute asyncwarden.rule
METRIC_BATCH_DURATION = "asyncwarden.batch.duration"  # histogram, s
METRIC_BATCH_SIZE = "asyncwarden.batch.size"  # histogram, {task}
METRIC_PENDING_AT_SHUTDOWN = "asyncwarden.tasks.pending_at_shutdown"  # counter, {task}
METRIC_RULE_ATTRIBUTE = "asyncwarden.rule"
METRIC_KIND_ATTRIBUTE = "asyncwarden.batch.kind"

# Arrays on spans (orders, sources) keep at most this many items; size attributes keep the count.
MAX_ARRAY_LENGTH = 1024

# structlog events (docs/telemetry.md lists their fields)
EVENT_BATCH = "asyncwarden.batch"  # debug, when a batch finishes
EVENT_COMBINE = "asyncwarden.combine"  # debug, after a concat/merge/join of tracked frames
EVENT_FINDING = "asyncwarden.finding"  # warning, one per finding
EVENT_SHUTDOWN = "asyncwarden.shutdown"  # warning, tasks pending when the loop shut down
