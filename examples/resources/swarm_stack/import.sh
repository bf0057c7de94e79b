# A stack deployed with `docker stack deploy` is imported by its name (as `docker stack ls`
# lists it) and the compose files it was deployed from, named as compose_files names them:
# the first plan is then empty, and the apply writes no service.
terraform import swarm_stack.shop shop:docker-compose.yml,prod.yml

# The name alone works too; the first apply then records compose_files, environment and files.
terraform import swarm_stack.shop shop
