# An overlay network for the services of one application. Services attach to it with
# `networks = [{ id = swarm_network.backend.id }]` and find each other by service name.
resource "swarm_network" "backend" {
  name     = "shop-backend"
  internal = true # no traffic leaves the swarm from this network
  labels   = { app = "shop" }
}

# Fixed addressing, encryption of the traffic between nodes, and containers started with
# `docker run --network shop-admin` allowed to join. Every attribute of a network is fixed
# once it exists: changing one replaces the network (and updates the services on it).
resource "swarm_network" "admin" {
  name       = "shop-admin"
  attachable = true
  encrypted  = true
  driver_options = {
    "com.docker.network.driver.mtu" = "1400"
  }
  ipam = [{ subnet = "10.20.30.0/24", gateway = "10.20.30.1" }]
}
