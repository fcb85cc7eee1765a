/**
 * The tenant a request belongs to when it names none (`?tenantDomain=` absent): the super tenant of
 * WSO2-style deployments, which this package's data model follows.
 */
export const DEFAULT_TENANT = 'carbon.super';
