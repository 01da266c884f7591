"""Put a graph's nodes in topological order, as the ONNX standard requires.

Graph rewriters (onnxruntime's float16 converter among them) append new nodes at the end
even when existing nodes read their outputs; ONNX Runtime tolerates that, the ONNX checker
(`full_check=True`) and stricter parsers do not.
"""

from __future__ import annotations

import heapq

from edgeseg.errors import EdgesegError


def topological_sort(graph) -> None:
    """Reorder `graph.node` in place so every node comes after the producers of its inputs.

    Stable: among nodes ready at the same time the original order is kept, so an already
    sorted graph is left exactly as it was.
    """
    nodes = list(graph.node)
    producer = {out: i for i, n in enumerate(nodes) for out in n.output if out}
    waiting = [0] * len(nodes)
    readers: dict[int, list[int]] = {}
    for i, n in enumerate(nodes):
        for name in set(_inputs(n)):
            j = producer.get(name)
            if j is not None and j != i:
                waiting[i] += 1
                readers.setdefault(j, []).append(i)
    ready = [i for i, w in enumerate(waiting) if w == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for k in readers.get(i, []):
            waiting[k] -= 1
            if waiting[k] == 0:
                heapq.heappush(ready, k)
    if len(order) != len(nodes):
        raise EdgesegError("the ONNX graph has a cycle; it cannot be put in topological order")
    if order != list(range(len(nodes))):
        del graph.node[:]
        graph.node.extend(nodes[i] for i in order)


def _inputs(node):
    """Names a node reads, including those its subgraphs (If/Loop bodies) take from outside."""
    names = [x for x in node.input if x]
    for attr in node.attribute:
        for g in ([attr.g] if attr.HasField("g") else []) + list(attr.graphs):
            inner = {o for n in g.node for o in n.output} | {i.name for i in g.input} | {t.name for t in g.initializer}
            names += [x for n in g.node for x in _inputs(n) if x not in inner]
    return names
