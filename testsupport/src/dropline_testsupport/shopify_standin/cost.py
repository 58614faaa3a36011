"""Calculated query cost and the leaky bucket of the GraphQL Admin API (platforms.md §1.4).

Documented rules (shopify.dev "GraphQL Admin API rate limits", quoted in platforms.md §1.4):
scalar and enum fields cost 0, object fields 1, connections are sized by ``first``/``last``, mutations
cost 10. Shopify computes a *requested* cost before execution (the bucket must hold it) and an *actual*
cost afterwards; the difference is refunded. The bucket is per app and store and refills continuously.

The stand-in's approximation of those rules, stated exactly so tests can predict it:

- scalar / enum field: 0; ``__typename`` and introspection fields: 0
- object field: 1 + cost of its selections (a null object in the result costs 1, its selections 0)
- connection field (type name ends in ``Connection``): 2 + n x (1 + cost of the node's selections), where
  n is ``first``/``last`` for the requested cost and the number of returned nodes for the actual cost;
  ``edges { node }`` and ``nodes`` are each counted when both are selected; ``pageInfo`` is free
- list of objects (not a connection, e.g. ``fulfillments(first:)``, ``trackingInfo``): n x (1 + cost of
  the element's selections), n = ``first`` when given, else 1 for the requested cost; returned count for
  the actual cost
- interface / union: 1 + the maximum over the possible types of the selections' cost
- every root field of a mutation: 10 flat (requested = actual), whatever it selects
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLIncludeDirective,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_argument_values,
    get_directive_values,
    get_named_type,
    get_nullable_type,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    type_from_ast,
)

MUTATION_COST = 10
CONNECTION_BASE_COST = 2


@dataclass
class LeakyBucket:
    """Points available to one app on one shop; refills at ``restore_rate`` points per second."""

    maximum_available: float = 2000.0
    restore_rate: float = 100.0
    clock: Callable[[], float] = time.monotonic
    _available: float = field(init=False)
    _updated: float = field(init=False)

    def __post_init__(self) -> None:
        self._available = self.maximum_available
        self._updated = self.clock()

    def _refill(self) -> None:
        now = self.clock()
        self._available = min(self.maximum_available, self._available + (now - self._updated) * self.restore_rate)
        self._updated = now

    def currently_available(self) -> int:
        self._refill()
        return math.floor(self._available)

    def currently_available_exact(self) -> float:
        self._refill()
        return self._available

    def try_take(self, cost: int) -> bool:
        """Take ``cost`` points if the bucket holds them (requested cost, before execution)."""
        self._refill()
        if cost > self._available:
            return False
        self._available -= cost
        return True

    def refund(self, points: int) -> None:
        self._refill()
        self._available = min(self.maximum_available, self._available + max(points, 0))

    def seconds_until(self, cost: int) -> float:
        """How long until ``cost`` points are available (for a ``Retry-After`` header)."""
        self._refill()
        missing = cost - self._available
        if missing <= 0:
            return 0.0
        return math.inf if self.restore_rate <= 0 else missing / self.restore_rate

    def configure(
        self,
        *,
        maximum_available: float | None = None,
        restore_rate: float | None = None,
        currently_available: float | None = None,
    ) -> None:
        self._refill()
        if maximum_available is not None:
            self.maximum_available = maximum_available
            self._available = min(self._available, maximum_available)
        if restore_rate is not None:
            self.restore_rate = restore_rate
        if currently_available is not None:
            self._available = max(0.0, min(currently_available, self.maximum_available))

    def throttle_status(self) -> dict[str, Any]:
        return {
            "maximumAvailable": float(self.maximum_available),
            "currentlyAvailable": self.currently_available(),
            "restoreRate": float(self.restore_rate),
        }


class QueryCost:
    """Requested and actual cost of one operation of a validated document."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variable_values: Any,
    ) -> None:
        self._schema = schema
        self._fragments = fragments
        self._variables = variable_values  # coerced, as returned by graphql.get_variable_values

    # -- public --------------------------------------------------------------------------------------

    def requested(self, operation: OperationDefinitionNode) -> int:
        if operation.operation == OperationType.MUTATION:
            return MUTATION_COST * len(self._fields(self._root(operation), operation.selection_set))
        return self._selection_cost(self._root(operation), operation.selection_set, None, requested=True)

    def actual(self, operation: OperationDefinitionNode, data: Mapping[str, Any] | None) -> int:
        if operation.operation == OperationType.MUTATION:
            return self.requested(operation)
        return self._selection_cost(self._root(operation), operation.selection_set, data or {}, requested=False)

    # -- internals -----------------------------------------------------------------------------------

    def _root(self, operation: OperationDefinitionNode) -> GraphQLObjectType:
        root = self._schema.get_root_type(operation.operation)
        assert root is not None  # the document was validated against the schema
        return root

    def _included(self, node: FieldNode | FragmentSpreadNode | InlineFragmentNode) -> bool:
        skip = get_directive_values(GraphQLSkipDirective, node, self._variables)
        if skip and skip.get("if"):
            return False
        include = get_directive_values(GraphQLIncludeDirective, node, self._variables)
        return not (include is not None and not include.get("if"))

    def _applies(self, condition: Any, type_: GraphQLObjectType) -> bool:
        if condition is None:
            return True
        conditional = type_from_ast(self._schema, condition)
        if conditional is type_:
            return True
        return bool(conditional is not None and is_abstract_type(conditional)
                    and self._schema.is_sub_type(conditional, type_))

    def _fields(self, type_: GraphQLObjectType, selection_set: SelectionSetNode) -> list[FieldNode]:
        """Fields selected on an object type, fragments expanded, @skip/@include applied."""
        out: list[FieldNode] = []
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if self._included(selection):
                    out.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                if self._included(selection) and self._applies(selection.type_condition, type_):
                    out.extend(self._fields(type_, selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self._fragments.get(selection.name.value)
                if fragment and self._included(selection) and self._applies(fragment.type_condition, type_):
                    out.extend(self._fields(type_, fragment.selection_set))
        return out

    def _selection_cost(
        self,
        type_: Any,
        selection_set: SelectionSetNode | None,
        data: Mapping[str, Any] | None,
        *,
        requested: bool,
    ) -> int:
        """Cost of the selections on one object (``data`` is that object's result for the actual cost)."""
        if selection_set is None:
            return 0
        if is_abstract_type(type_):
            return max(
                (self._selection_cost(t, selection_set, data, requested=requested)
                 for t in self._schema.get_possible_types(type_)),
                default=0,
            )
        total = 0
        for node in self._fields(type_, selection_set):
            name = node.name.value
            if name.startswith("__"):
                continue
            field_def = type_.fields.get(name)
            if field_def is None:
                continue
            key = node.alias.value if node.alias else name
            value = None if data is None else data.get(key)
            total += self._field_cost(field_def, node, value, requested=requested)
        return total

    def _field_cost(self, field_def: Any, node: FieldNode, value: Any, *, requested: bool) -> int:
        named = get_named_type(field_def.type)
        if is_leaf_type(named):
            return 0
        args = get_argument_values(field_def, node, self._variables)
        size_arg = args.get("first") if args.get("first") is not None else args.get("last")

        if named.name.endswith("Connection"):
            return self._connection_cost(named, node, value, size_arg, requested=requested)

        if is_list_type(get_nullable_type(field_def.type)):
            if requested:
                n = size_arg if size_arg is not None else 1
                return n * (1 + self._selection_cost(named, node.selection_set, None, requested=True))
            items: Sequence[Any] = value or []
            return sum(1 + self._selection_cost(named, node.selection_set, item, requested=False)
                       for item in items)

        if not requested and value is None:
            return 1
        return 1 + self._selection_cost(named, node.selection_set, value, requested=requested)

    def _connection_cost(
        self, connection_type: Any, node: FieldNode, value: Any, size_arg: int | None, *, requested: bool
    ) -> int:
        if node.selection_set is None:
            return CONNECTION_BASE_COST
        per_item_parts: list[tuple[Any, SelectionSetNode | None, str]] = []
        for sub in self._fields(connection_type, node.selection_set):
            sub_name = sub.name.value
            key = sub.alias.value if sub.alias else sub_name
            sub_def = connection_type.fields.get(sub_name)
            if sub_def is None:
                continue
            if sub_name == "nodes":
                per_item_parts.append((get_named_type(sub_def.type), sub.selection_set, key))
            elif sub_name == "edges":
                edge_type = get_named_type(sub_def.type)
                for edge_field in self._fields(edge_type, sub.selection_set) if sub.selection_set else []:
                    if edge_field.name.value == "node":
                        node_def = edge_type.fields["node"]
                        node_key = edge_field.alias.value if edge_field.alias else "node"
                        per_item_parts.append(
                            (get_named_type(node_def.type), edge_field.selection_set, f"{key}.{node_key}")
                        )
        if requested:
            n = size_arg or 0
            return CONNECTION_BASE_COST + n * sum(
                1 + self._selection_cost(t, sel, None, requested=True) for t, sel, _ in per_item_parts
            )
        total = CONNECTION_BASE_COST
        for t, sel, path in per_item_parts:
            for item in self._items(value, path):
                total += 1 + self._selection_cost(t, sel, item, requested=False)
        return total

    @staticmethod
    def _items(value: Any, path: str) -> list[Any]:
        if not isinstance(value, Mapping):
            return []
        if "." not in path:  # nodes
            return [item for item in value.get(path) or [] if item is not None]
        edges_key, node_key = path.split(".", 1)
        return [
            edge.get(node_key)
            for edge in value.get(edges_key) or []
            if isinstance(edge, Mapping) and edge.get(node_key) is not None
        ]
