"""Control-flow node types: they need no robot."""

from typing import Annotated, Literal

from pydantic import Field

from canvas.registry import NodeType, Params


class Start(NodeType):
    type = "control.start"
    title = "Start"
    category = "control"
    description = "Marks where the workflow begins."
    inline = True

    def execute(self, context, params):
        return {}

    def protocol(self, session, params):
        """Nothing: a protocol begins by itself."""


class DelayParams(Params):
    seconds: float = Field(ge=0, le=7 * 24 * 3600, description="How long to wait, in seconds")


class Delay(NodeType):
    type = "control.delay"
    title = "Delay"
    category = "control"
    description = "Waits; a cancelled run stops waiting at once."
    Params = DelayParams
    summary = "{seconds} s"
    outputs = {"seconds": "the time waited, in seconds"}

    def protocol(self, session, params):
        session.context.delay(seconds=params.seconds)

    def execute(self, context, params):
        context.sleep(params.seconds)
        return {"seconds": params.seconds}


class PauseParams(Params):
    message: str = Field(default="Continue when ready", max_length=2000)


class Pause(NodeType):
    type = "control.pause"
    title = "Pause"
    category = "control"
    description = "Waits until a person clicks Continue (or the run is cancelled)."
    Params = PauseParams
    summary = "{message}"
    outputs = {"continued_by": "who continued the run"}

    def protocol(self, session, params):
        session.context.pause(params.message)

    def execute(self, context, params):
        return {"continued_by": context.wait_for_continue(params.message)}


class InputField(Params):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    label: str = Field(default="", max_length=200)
    type: Literal["number", "integer", "choice", "text"] = "number"
    unit: str = Field(default="", max_length=32)
    minimum: float | None = None
    maximum: float | None = None
    choices: list[str] = Field(default=[], max_length=100)


class InputParams(Params):
    message: str = Field(default="Enter the values", max_length=2000)
    fields: list[InputField] = Field(min_length=1, max_length=50)


class Input(NodeType):
    type = "control.input"
    title = "Ask a person"
    category = "control"
    description = (
        "Stops the run and asks, on the run page, for typed values (numbers with units and "
        "bounds, choices, text); the answers are its outputs, e.g. a manual measurement."
    )
    Params = InputParams
    summary = "{message}"
    outputs = {"answered_by": "who answered"}

    def output_keys(self, params):
        fields = params.get("fields")
        if not isinstance(fields, list):
            return None
        return {"answered_by"} | {f.get("name") for f in fields if isinstance(f, dict)}

    def execute(self, context, params):
        form = [f.model_dump() for f in params.fields]
        who, answers = context.wait_for_input(params.message, form)
        return {**answers, "answered_by": who}


class CommentParams(Params):
    text: str = Field(default="", max_length=10000)


class Comment(NodeType):
    type = "control.comment"
    title = "Comment"
    category = "control"
    description = "A note on the canvas; does nothing when run."
    inline = True
    Params = CommentParams
    summary = "{text}"

    def execute(self, context, params):
        return {}

    def protocol(self, session, params):
        session.context.comment(params.text)


class LogParams(Params):
    message: Annotated[str, Field(max_length=10000)] | int | float | bool
    level: Literal["debug", "info", "warning", "error"] = "info"


class Log(NodeType):
    type = "control.log"
    title = "Log"
    category = "control"
    description = "Writes a line to the run's log."
    inline = True
    Params = LogParams
    summary = "{message}"
    outputs = {"message": "the line written"}

    def protocol(self, session, params):
        session.context.comment(str(params.message))

    def execute(self, context, params):
        message = str(params.message)
        context.log(message, params.level)
        return {"message": message}
