module "site" {
  source = "../../modules/site"

  name     = "api"
  out_dir  = var.out_dir
  greeting = "The api stack answers here"
}

# The api also publishes its routes, next to the files of the shared module.
resource "local_file" "routes" {
  filename             = "${module.site.dir}/routes.json"
  file_permission      = "0644"
  directory_permission = "0755"
  content              = "${jsonencode({ "/health" = "ok", "/v1/greeting" = "config.json" })}\n"
}

output "files" {
  description = "The files this stack manages."
  value       = concat(module.site.files, [local_file.routes.filename])
}
