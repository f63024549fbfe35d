"""Recorded data: the measured values of a run."""

from typing import Any

from pydantic import Field

from canvas.registry import NodeType, Params


class RecordParams(Params):
    values: dict[str, Any] = Field(
        description="Named values to store as the run's data; each is also an output"
    )


class Record(NodeType):
    type = "data.record"
    title = "Record data"
    category = "data"
    description = "Stores named values as the run's measured data and outputs them."
    inline = True
    Params = RecordParams
    summary = "{values}"

    def output_keys(self, params):
        values = params.get("values")
        return set(values) if isinstance(values, dict) else None

    def execute(self, context, params):
        for name, value in params.values.items():
            context.log(f"recorded {name} = {value!r}")
        return dict(params.values)
