# A network that another configuration (or `docker stack deploy`) owns.
data "swarm_network" "shared" {
  name = "platform-backend"
}

resource "swarm_service" "reporting" {
  name     = "reporting"
  image    = "registry.example.com/team/reporting:1.2.0"
  networks = [{ id = data.swarm_network.shared.id, aliases = ["reports"] }]
}

output "backend_subnet" {
  value = data.swarm_network.shared.ipam[0].subnet
}
