# A configuration file. Like secrets, Swarm's configs cannot change: with name_prefix each
# content gets its own config ("shop-nginx-8d2e41b7c0"); the services move to the new one in
# a rolling update and the old one is removed once unused.
resource "swarm_config" "nginx" {
  name_prefix = "shop-nginx-"
  data        = file("${path.module}/nginx.conf")
}

# A template, expanded by Swarm for each task: here the task's own host name.
resource "swarm_config" "agent" {
  name_prefix     = "shop-agent-"
  template_driver = "golang"
  data            = "node_name = \"{{ .Node.Hostname }}\"\nservice = \"{{ .Service.Name }}\"\n"
}

resource "swarm_service" "web" {
  name  = "shop-web"
  image = "registry.example.com/shop/web:1.4.2"
  configs = [
    { id = swarm_config.nginx.id, file_name = "/etc/nginx/nginx.conf" },
    { id = swarm_config.agent.id, file_name = "/etc/agent.toml" },
  ]
}
