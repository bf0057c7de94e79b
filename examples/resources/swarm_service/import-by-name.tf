# Adopt a service that was created with `docker service create` (Terraform 1.5 and later).
# The id may be the service name or its Swarm ID; the next plan shows any difference between
# the service and the swarm_service.web configuration.
import {
  to = swarm_service.web
  id = "shop-web"
}
