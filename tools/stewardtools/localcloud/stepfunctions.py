"""A minimal Step Functions executor for the template's state machines, on the local cloud.

moto 5.2.5 stores state machines and executions; it only *runs* them with its LocalStack-derived
parser when moto's config says ``stepfunctions.execute_state_machine`` (``moto.core.config``), on
worker threads, and its Distributed Map ItemReader goes through its own S3 client. The local cloud
runs handlers one at a time, in-process, with per-function environments, so it runs executions
itself: ``StartExecution`` is recorded by moto as usual, then the execution runs on the local
cloud's queue (right after the caller returns, like any asynchronous event) and moto's execution
record gets the final status, output, error and cause (``DescribeExecution`` works).

The definition is the REAL one, read from the translated template (``DefinitionString`` with its
``DefinitionSubstitutions`` resolved against the stack). Supported, exactly as far as the suite
uses it: ``Task`` (Lambda function ARN as Resource; Parameters, ResultSelector, ResultPath,
OutputPath; Retry with ErrorEquals/MaxAttempts, no waiting for IntervalSeconds/BackoffRate; Catch),
``Map`` (inline or DISTRIBUTED ItemProcessor; Items from ItemsPath or an ``ItemReader``
``arn:aws:states:::s3:getObject`` JSON array; ItemSelector with ``$$.Map.Item.Value/Index``;
``ToleratedFailurePercentage``/``Count``; items run one after another, so ``MaxConcurrency`` is
read but not exercised), ``Pass``, ``Succeed``, ``Fail``, ``Choice`` is not supported (raises).
Errors follow AWS: a Lambda error's name is its ``errorType``, its Cause the error payload JSON;
a Map whose failed items exceed the tolerance fails with ``States.ExceedToleratedFailureThreshold``.
Not modelled: timeouts, heartbeats, waits, state transition quotas, payload size limits.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

STATE_MACHINE_TYPES = ("AWS::StepFunctions::StateMachine",)


class StatesError(Exception):
    """A state's failure, with Step Functions' error name and cause."""

    def __init__(self, error: str, cause: str) -> None:
        super().__init__(f"{error}: {cause}")
        self.error, self.cause = error, cause


def _join(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return str(sep).join(_join(p) for p in parts)
    raise ValueError(f"unsupported DefinitionString part {value!r}")


def state_machine_definition(
    properties: Mapping[str, Any], resolve: Callable[[Any], Any] | None = None
) -> dict[str, Any]:
    """The ASL of a translated ``AWS::StepFunctions::StateMachine`` with its substitutions applied
    (``resolve`` turns a substitution's intrinsic into its value; without it they stay symbolic)."""
    if "Definition" in properties:
        text = json.dumps(properties["Definition"])
    else:
        text = _join(properties["DefinitionString"])
    for name, value in (properties.get("DefinitionSubstitutions") or {}).items():
        resolved = resolve(value) if resolve else f"<{name}>"
        text = text.replace("${" + name + "}", str(resolved))
    definition: dict[str, Any] = json.loads(text)
    return definition


# --- paths ------------------------------------------------------------------------------------
def _path(path: str, data: Any, context: Mapping[str, Any]) -> Any:
    """JSONPath subset: ``$``, ``$.a.b``, ``$$.Map.Item.Value`` (dots only)."""
    if path.startswith("$$"):
        root, rest = context, path[2:]
    elif path.startswith("$"):
        root, rest = data, path[1:]
    else:
        raise StatesError("States.Runtime", f"unsupported path {path!r}")
    value = root
    for part in [p for p in rest.split(".") if p]:
        if not isinstance(value, Mapping) or part not in value:
            raise StatesError("States.Runtime", f"path {path!r} not found in the input")
        value = value[part]
    return value


def _parameters(template: Any, data: Any, context: Mapping[str, Any]) -> Any:
    if isinstance(template, Mapping):
        out = {}
        for key, value in template.items():
            if key.endswith(".$"):
                out[key[:-2]] = _path(str(value), data, context)
            else:
                out[key] = _parameters(value, data, context)
        return out
    if isinstance(template, list):
        return [_parameters(v, data, context) for v in template]
    return template


def _set_path(data: Any, path: str | None, result: Any) -> Any:
    if path is None:
        return data
    if path == "$":
        return result
    out = copy.deepcopy(data) if isinstance(data, dict) else {}
    target = out
    parts = [p for p in path[1:].split(".") if p]
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = result
    return out


# --- the executor -----------------------------------------------------------------------------
InvokeLambda = Callable[[str, Any], tuple[bool, Any, str | None, str | None]]
ReadS3 = Callable[[str, str], bytes]


@dataclass
class ExecutionRun:
    """What one execution did, state by state (for tests and the logs)."""

    name: str
    status: str = "RUNNING"
    output: Any = None
    error: str | None = None
    cause: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    transitions: int = 0


@dataclass
class Executor:
    """Runs one definition; ``invoke(function_arn, payload) -> (ok, result, error_type, message)``."""

    definition: Mapping[str, Any]
    invoke: InvokeLambda
    read_s3: ReadS3

    def run(self, name: str, data: Any, execution_context: Mapping[str, Any]) -> ExecutionRun:
        run = ExecutionRun(name)
        try:
            run.output = self._machine(self.definition, data, dict(execution_context), run)
            run.status = "SUCCEEDED"
        except StatesError as exc:
            run.status, run.error, run.cause = "FAILED", exc.error, exc.cause
        return run

    def _machine(self, machine: Mapping[str, Any], data: Any, ctx: dict[str, Any], run: ExecutionRun) -> Any:
        states = machine["States"]
        current = machine["StartAt"]
        while True:
            state = states[current]
            run.transitions += 1
            run.events.append({"state": current, "type": state["Type"]})
            kind = state["Type"]
            if kind == "Succeed":
                return data
            if kind == "Fail":
                raise StatesError(state.get("Error", "States.Fail"), state.get("Cause", ""))
            try:
                data = self._state(state, data, ctx, run)
            except StatesError as exc:
                handler = self._catch(state, exc)
                if handler is None:
                    raise
                run.events.append({"state": current, "caught": exc.error})
                data = _set_path(
                    data, handler.get("ResultPath", "$"), {"Error": exc.error, "Cause": exc.cause}
                )
                current = handler["Next"]
                continue
            if state.get("End"):
                return data
            current = state["Next"]

    @staticmethod
    def _catch(state: Mapping[str, Any], exc: StatesError) -> Mapping[str, Any] | None:
        for handler in state.get("Catch", []):
            names = handler["ErrorEquals"]
            if exc.error in names or "States.ALL" in names:
                found: Mapping[str, Any] = handler
                return found
        return None

    def _state(self, state: Mapping[str, Any], data: Any, ctx: dict[str, Any], run: ExecutionRun) -> Any:
        kind = state["Type"]
        effective = _path(state["InputPath"], data, ctx) if state.get("InputPath") else data
        if kind == "Pass":
            result = state.get("Result", effective)
            if "Parameters" in state:
                result = _parameters(state["Parameters"], effective, ctx)
        elif kind == "Task":
            payload = _parameters(state["Parameters"], effective, ctx) if "Parameters" in state else effective
            result = self._task(state, payload, run)
        elif kind == "Map":
            result = self._map(state, effective, ctx, run)
        else:
            raise StatesError("States.Runtime", f"the local executor does not support {kind} states")
        if "ResultSelector" in state:
            result = _parameters(state["ResultSelector"], result, ctx)
        out = _set_path(data, state.get("ResultPath", "$"), result)
        return _path(state["OutputPath"], out, ctx) if state.get("OutputPath") else out

    def _task(self, state: Mapping[str, Any], payload: Any, run: ExecutionRun) -> Any:
        resource = str(state["Resource"])
        if ":function:" not in resource:
            raise StatesError(
                "States.Runtime", f"the local executor only invokes Lambda ARNs, not {resource}"
            )
        attempts: dict[int, int] = {}
        while True:
            ok, result, error_type, message = self.invoke(resource, payload)
            if ok:
                return result
            error = error_type or "Lambda.Unknown"
            cause = json.dumps({"errorType": error, "errorMessage": message or ""})
            for i, retrier in enumerate(state.get("Retry", [])):
                names = retrier["ErrorEquals"]
                if error in names or "States.ALL" in names or ("States.TaskFailed" in names):
                    if attempts.get(i, 0) < int(retrier.get("MaxAttempts", 3)):
                        attempts[i] = attempts.get(i, 0) + 1
                        run.events.append({"retry": resource, "error": error, "attempt": attempts[i]})
                        break
                    raise StatesError(error, cause)
            else:
                raise StatesError(error, cause)

    def _map(self, state: Mapping[str, Any], data: Any, ctx: dict[str, Any], run: ExecutionRun) -> Any:
        if "ItemReader" in state:
            reader = state["ItemReader"]
            if reader.get("Resource") != "arn:aws:states:::s3:getObject":
                raise StatesError("States.Runtime", f"unsupported ItemReader {reader.get('Resource')}")
            params = _parameters(reader.get("Parameters", {}), data, ctx)
            items = json.loads(self.read_s3(params["Bucket"], params["Key"]))
            if not isinstance(items, list):
                raise StatesError("States.ItemReaderFailed", "the ItemReader object is not a JSON array")
        else:
            items = _path(state.get("ItemsPath", "$"), data, ctx)
        processor = state.get("ItemProcessor") or state["Iterator"]
        tolerated_pct = float(state.get("ToleratedFailurePercentage", 0))
        tolerated_count = int(state.get("ToleratedFailureCount", 0))
        results: list[Any] = []
        failures: list[StatesError] = []
        for index, item in enumerate(items):
            item_ctx = {**ctx, "Map": {"Item": {"Index": index, "Value": item}}}
            selector = state.get("ItemSelector") or state.get("Parameters")
            item_input = _parameters(selector, data, item_ctx) if selector else item
            try:
                results.append(self._machine(processor, item_input, item_ctx, run))
            except StatesError as exc:
                failures.append(exc)
                results.append(None)
                run.events.append({"map_item_failed": index, "error": exc.error})
        if failures:
            too_many = (
                len(failures) > tolerated_count and 100.0 * len(failures) / max(len(items), 1) > tolerated_pct
            )
            if too_many:
                first = failures[0]
                raise StatesError(
                    "States.ExceedToleratedFailureThreshold",
                    f"{len(failures)} of {len(items)} items failed; first: {first.error}: {first.cause}",
                )
        return results


# --- the local cloud's hook -------------------------------------------------------------------
@dataclass
class LocalStateMachines:
    """Runs executions of the template's state machines (by ARN) after moto records them."""

    runtime: Any  # localcloud.runtime.LambdaRuntime
    read_s3: ReadS3
    definitions: dict[str, dict[str, Any]] = field(default_factory=dict)  # by state machine ARN
    runs: list[ExecutionRun] = field(default_factory=list)

    def register(self, arn: str, definition: dict[str, Any]) -> None:
        self.definitions[arn] = definition

    def _invoke(self, function_arn: str, payload: Any) -> tuple[bool, Any, str | None, str | None]:
        record = self.runtime.invoke_sync(function_arn, payload, trigger="states")
        return bool(record.ok), record.result, record.error_type, record.error_message

    def execute(self, execution: Any) -> None:
        from stewardtools.localcloud import motohooks

        definition = self.definitions[execution.state_machine_arn]
        context = {
            "Execution": {"Id": execution.execution_arn, "Name": execution.name},
            "StateMachine": {"Id": execution.state_machine_arn},
        }
        executor = Executor(definition, self._invoke, self.read_s3)
        run = executor.run(execution.name, json.loads(execution.execution_input or "{}"), context)
        self.runs.append(run)
        log.info("execution %s %s (%d transitions)", execution.name, run.status, run.transitions)
        output = json.dumps(run.output, default=str) if run.status == "SUCCEEDED" else None
        motohooks.finish_execution(execution, run.status, output, run.error, run.cause)


_ACTIVE: LocalStateMachines | None = None
_ORIGINAL_START: Any = None


def activate(machines: LocalStateMachines | None) -> None:
    """Patch moto's StartExecution once; executions of registered machines run on the local cloud."""
    global _ACTIVE, _ORIGINAL_START
    from stewardtools.localcloud import motohooks

    _ACTIVE = machines
    cls = motohooks.stepfunctions_backend_class()
    if _ORIGINAL_START is None:
        _ORIGINAL_START = cls.start_execution

        def start_execution(self: Any, state_machine_arn: str, name: str, execution_input: str) -> Any:
            execution = _ORIGINAL_START(self, state_machine_arn, name, execution_input)
            machines = _ACTIVE
            if machines is not None and state_machine_arn in machines.definitions:
                machines.runtime.defer(lambda: machines.execute(execution))
            return execution

        cls.start_execution = start_execution
