variable "name" {
  description = "The site's name; its files are written to <out_dir>/<name>/."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*$", var.name))
    error_message = "The name must be lower-case letters, digits and dashes, starting with a letter."
  }
}

variable "out_dir" {
  description = "Absolute directory under which the site's folder is created."
  type        = string
}

variable "greeting" {
  description = "The sentence the site's page shows."
  type        = string
}
