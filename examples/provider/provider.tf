terraform {
  required_providers {
    swarm = {
      source = "swarmform/swarm"
    }
  }
}

# On a Swarm manager itself: no arguments. The provider reads DOCKER_HOST and the other
# DOCKER_* variables, and falls back to unix:///var/run/docker.sock.
provider "swarm" {}

# A remote manager over TCP with mutual TLS. The PEM strings come from variables, so the
# configuration works where no certificate files exist, such as Terraform Cloud workspaces.
variable "docker_ca_pem" {
  type      = string
  sensitive = true
}

variable "docker_cert_pem" {
  type      = string
  sensitive = true
}

variable "docker_key_pem" {
  type      = string
  sensitive = true
}

provider "swarm" {
  alias    = "tls"
  host     = "tcp://swarm-manager.example.com:2376"
  ca_pem   = var.docker_ca_pem
  cert_pem = var.docker_cert_pem
  key_pem  = var.docker_key_pem
}

# A remote manager over SSH. The provider runs the local ssh client, which needs key-based
# login and a user allowed to use Docker on the manager.
provider "swarm" {
  alias    = "ssh"
  host     = "ssh://deploy@swarm-manager.example.com:22"
  ssh_opts = ["-o", "ServerAliveInterval=30", "-o", "ConnectTimeout=10"]
}

# Credentials for private registries, sent with every service create and update whose
# image lives there.
variable "registry_token" {
  type      = string
  sensitive = true
}

variable "docker_config_json" {
  description = "Contents of a docker config.json, e.g. from a CI secret."
  type        = string
  sensitive   = true
}

provider "swarm" {
  alias = "private_images"

  registry_auth = [
    {
      address  = "registry.example.com"
      username = "ci-deployer"
      password = var.registry_token
    },
    {
      address             = "ghcr.io"
      config_file_content = var.docker_config_json
    },
  ]
}
