"""The execution core both engines compose.

- `decide`: what a node whose parents have ended does next (pure: no database, no threads).
- `messages`: what node threads report; `run.Execution` records them in order.
- `context`: the NodeContext a node type's `execute` receives.
- `attempt`: one attempt of a node, with its timeout and cancel.
- `robot`: the robot lock and the robot session of a run.
- `run`: one run in this process — prepared, signalled, recorded and finished.

The native engine (`orchestration.engine`) adds a graphlib loop and a thread pool; the Prefect
flow (`orchestration.prefect_flow`) adds Prefect tasks. Neither reaches into the other.
"""
