"""A rendered stack read as CloudFormation reads it, with its parameters set:
the intrinsic functions and conditions the roles use, in the short form a
template is written in (``{"!Ref": X}``, as ``CloudFormationLoader`` reads
it) or the long form the SAM transform writes (``{"Ref": X}``,
``{"Fn::Join": ...}``). A resource's attribute (``!GetAtt X.Arn``) stays
``<X.Arn>``."""

from __future__ import annotations

import re
from typing import Any

NO_VALUE = object()  # AWS::NoValue: the property or list item is left out


def short_form(node: Any) -> Any:
    """The long form (``Ref``, ``Fn::Sub``) written as the short one (``!Ref``, ``!Sub``)."""
    if isinstance(node, list):
        return [short_form(item) for item in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        ((key, value),) = node.items()
        if key == "Ref" or key.startswith("Fn::"):
            return {"!" + key.removeprefix("Fn::"): short_form(value)}
    return {key: short_form(value) for key, value in node.items()}


class Stack:
    def __init__(
        self,
        loaded: dict[str, Any],
        values: dict[str, str],
        *,
        account: str,
        region: str,
        partition: str = "aws",
    ) -> None:
        parameters = loaded["Parameters"]
        assert set(values) <= set(parameters), sorted(set(values) - set(parameters))
        self.conditions = short_form(loaded.get("Conditions", {}))
        self.refs: dict[str, Any] = {
            name: str(spec.get("Default", "")) for name, spec in parameters.items()
        }
        self.refs |= values
        self.refs |= {
            "AWS::AccountId": account,
            "AWS::Region": region,
            "AWS::Partition": partition,
            "AWS::NoValue": NO_VALUE,
        }

    def condition(self, name: str) -> bool:
        return bool(self.evaluate(self.conditions[name]))

    def evaluate(self, node: Any) -> Any:
        node = short_form(node)
        if isinstance(node, list):
            return [item for item in map(self.evaluate, node) if item is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) != 1 or not next(iter(node)).startswith("!"):
            pairs = ((key, self.evaluate(value)) for key, value in node.items())
            return {key: value for key, value in pairs if value is not NO_VALUE}
        ((function, argument),) = node.items()
        if function == "!Ref":
            return self.refs.get(argument, f"<{argument}>")
        if function == "!GetAtt":
            return f"<{argument if isinstance(argument, str) else '.'.join(argument)}>"
        if function == "!Sub":
            return self._sub(*([argument, {}] if isinstance(argument, str) else argument))
        if function == "!Join":
            return argument[0].join(self.evaluate(argument[1]))
        if function == "!Split":
            return self.evaluate(argument[1]).split(argument[0])
        if function == "!Select":
            items = self.evaluate(argument[1])
            index = int(argument[0])
            if index >= len(items):  # CloudFormation fails the deploy
                raise ValueError(f"Fn::Select {index} of {items}")
            return items[index]
        if function == "!If":
            condition, when, otherwise = argument
            return self.evaluate(when if self.condition(condition) else otherwise)
        return self._condition_function(function, argument)

    def _sub(self, text: str, variables: dict[str, Any]) -> str:
        values = {name: self.evaluate(value) for name, value in variables.items()}

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            return str(values.get(name, self.refs.get(name, f"<{name}>")))

        return re.sub(r"\$\{([\w:.]+)\}", value, text)

    def _condition_function(self, function: str, argument: Any) -> bool:
        if function == "!Equals":
            return bool(self.evaluate(argument[0]) == self.evaluate(argument[1]))
        if function == "!Not":
            return not self.evaluate(argument[0])
        if function == "!And":
            return all(map(self.evaluate, argument))
        if function == "!Or":
            return any(map(self.evaluate, argument))
        assert function == "!Condition", f"{function}: not read by this evaluator"
        return self.condition(argument)
