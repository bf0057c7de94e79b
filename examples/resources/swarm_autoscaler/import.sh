# The controller is imported by the ID or name of its service; a service that is not an
# autoscaling controller (it lacks the swarmform.autoscaler label) is refused.
terraform import swarm_autoscaler.this swarm-autoscaler
