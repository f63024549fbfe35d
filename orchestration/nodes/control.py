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
