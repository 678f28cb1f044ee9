module "site" {
  source = "../../modules/site"

  name     = "web"
  out_dir  = var.out_dir
  greeting = "Hello from the web stack"
}

output "files" {
  description = "The files this stack manages."
  value       = module.site.files
}
