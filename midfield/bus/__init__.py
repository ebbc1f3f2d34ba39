"""The Kafka clients, behind one package: the only modules of ours that import kafka-python or
aiokafka (``pyproject.toml`` holds that as an import contract; the worker's faust uses aiokafka
inside faust).

Everything else reaches the broker through these modules and sees Midfield's errors only
(``BrokerUnavailable``, ``BrokerRejected`` from :mod:`midfield.errors`): each call into a client
library is translated here (:mod:`midfield.bus.errors`), so no caller needs to remember to.

* :mod:`~midfield.bus.clients`: the settings every client shares; the admin client.
* :mod:`~midfield.bus.errors`: client errors -> Midfield errors.
* :mod:`~midfield.bus.readiness`: does a broker answer; wait for one.
* :mod:`~midfield.bus.topics`: the catalog's topics created, partitions counted.
* :mod:`~midfield.bus.consumer` and :mod:`~midfield.bus.producer`: the clients, wrapped.
* :mod:`~midfield.bus.watermarks`: log ends that are right on every broker.
* :mod:`~midfield.bus.groups` and :mod:`~midfield.bus.lag`: a group's offsets, and its lag.
"""
