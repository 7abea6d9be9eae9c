"""Real-time, serverless and asynchronous endpoints' resources: the registry (state and status
transitions), deployments (models unpacked, fleets started) and the fleet of each variant."""
