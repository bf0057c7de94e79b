# A policy is imported by the ID or name of the service it is attached to (one policy per
# service); its settings are read back from the service's labels.
terraform import swarm_scaling_policy.web shop-web
