# A service can be imported by its Swarm ID...
terraform import swarm_service.web 9k3q8x2m1vz7c4n5b6t0rjwpe

# ...or by its name. State records the ID either way.
terraform import swarm_service.web shop-web
