# A config made elsewhere, mounted into a service. The data source reads its metadata, not its
# content.
data "swarm_config" "nginx" {
  name = "edge-nginx-conf"
}

resource "swarm_service" "edge" {
  name    = "edge"
  image   = "registry.example.com/edge/nginx:1.27"
  configs = [{ id = data.swarm_config.nginx.id, file_name = "/etc/nginx/nginx.conf" }]
}
