# A "site" is a folder of rendered files: the stand-in, in this offline quickstart, for what a
# real module would deploy. Both the web and the api stacks call it, so a change here is a
# change to both stacks, and trueup plans and applies both.

locals {
  dir = "${var.out_dir}/${var.name}"

  config = {
    name     = var.name
    greeting = var.greeting
  }
}

resource "local_file" "index_html" {
  filename             = "${local.dir}/index.html"
  file_permission      = "0644"
  directory_permission = "0755"
  content              = <<-HTML
    <!doctype html>
    <title>${var.name}</title>
    <h1>${var.greeting}</h1>
  HTML
}

resource "local_file" "config_json" {
  filename             = "${local.dir}/config.json"
  file_permission      = "0644"
  directory_permission = "0755"
  content              = "${jsonencode(local.config)}\n"
}
