# A config can be imported by its ID or by its name; its content is read back.
terraform import swarm_config.nginx shop-nginx-8d2e41b7c0
