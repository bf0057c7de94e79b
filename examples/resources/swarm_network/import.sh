# A network can be imported by its ID or by its name.
terraform import swarm_network.backend shop-backend
