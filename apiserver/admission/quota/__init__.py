"""Resource quota accounting shared by the ResourceQuota admission plugin and the quota controller: resource
lists as exact quantities, what each kind of object uses, and which quotas (scopes) an object counts against."""
