"""Adapters only the tools need (CloudFormation stack outputs, the dead-letter queue and a
synchronous invoke for replay); built in :mod:`stewardtools.operations.context`."""
